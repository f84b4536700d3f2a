import Foundation
import TestSupport
import Testing

/// `muninn bench compression` end to end: golden XOR breakdown for a small
/// fixture, the JSON shape, and exit status 1 with the file (and line) named for
/// bad inputs.
@Suite struct BenchCompressionTests {
    static let fixture = compressionFixture

    /// Hand-computed: 63 chunk bytes = 21 (a) + 17 (b) + 25 (c).
    static let goldenBreakdown = """
        part,encoding,count,share,bits,control_bits,bits_per_sample
        header,BE16 sample count,3,100.00%,48,0,3.200
        first_timestamp,t0 varint,3,20.00%,144,0,9.600
        first_value,64 raw bits,3,20.00%,192,0,12.800
        second_timestamp,t1-t0 uvarint,2,13.33%,32,0,2.133
        dod_0,0,9,90.00%,9,9,0.600
        dod_14,10 + 14 bits,1,10.00%,16,2,1.067
        dod_17,110 + 17 bits,0,0.00%,0,0,0.000
        dod_20,1110 + 20 bits,0,0.00%,0,0,0.000
        dod_64,1111 + 64 bits,0,0.00%,0,0,0.000
        value_same,0,10,83.33%,10,10,0.667
        value_reuse,10 + window bits,1,8.33%,12,2,0.800
        value_new,11 + 5 + 6 + meaningful bits,1,8.33%,23,13,1.533
        padding,to the byte end (+ 2.x zero byte),3,100.00%,18,0,1.200

        """

    static func file(_ text: String) throws -> (URL, String) {
        let dir = Scratch.path("benchcomp")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("input.txt").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return (dir, path)
    }

    @Test func csvMatchesGolden() throws {
        let (dir, path) = try Self.file(Self.fixture)
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try muninn(["bench", "compression", "--input", path, "--codec", "raw", "--codec", "xor,xor-lz4", "--format", "csv", "--repeat", "1"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.isEmpty, "no progress output into a pipe: \(r.stderr)")
        let sections = r.stdout.components(separatedBy: "\n\n")
        #expect(sections.count == 2)
        let rows = sections[0].split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
        #expect(rows.map { $0[0] } == ["codec", "raw", "xor", "xor-lz4"])
        #expect(rows[1][1...3] == ["240", "16.000", "1.00"])
        #expect(rows[2][1...3] == ["63", "4.200", "3.81"])
        #expect(rows.dropFirst().allSatisfy { $0.last == "ok" })
        #expect(sections.last == Self.goldenBreakdown)
    }

    @Test func jsonHasStableKeys() throws {
        let (dir, path) = try Self.file(Self.fixture)
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try muninn(["bench", "compression", "--input", path, "--format", "json", "--repeat", "1"])
        #expect(r.status == 0, "\(r.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(
            object.keys.sorted() == ["block_size", "codecs", "duplicates_dropped", "input", "input_kind", "repetitions", "samples", "series", "xor"])
        let codecs = try #require(object["codecs"] as? [[String: Any]])
        #expect(codecs.map { $0["codec"] as? String } == ["raw", "xor", "xor-lz4", "raw-lz4", "raw-zlib"])
        #expect(
            codecs[0].keys.sorted() == [
                "bytes", "bytes_per_sample", "codec", "decode_mb_per_second", "decode_ns_per_sample",
                "encode_mb_per_second", "encode_ns_per_sample", "ratio_to_raw", "round_trip"
            ])
        let xor = try #require(object["xor"] as? [String: Any])
        #expect(xor["chunk_bytes"] as? Int == 63)
        #expect(object["samples"] as? Int == 15)
    }

    @Test func tableIsAligned() throws {
        let (dir, path) = try Self.file(Self.fixture)
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try muninn(["bench", "compression", "--input", path, "--repeat", "1"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("input: \(path) (promtool dump): 3 series, 15 samples\n"))
        let header = try #require(r.stdout.split(separator: "\n").first { $0.hasPrefix("codec ") })
        let xorRow = try #require(r.stdout.split(separator: "\n").first { $0.hasPrefix("xor ") })
        #expect(header.count == xorRow.count)
        #expect(r.stdout.contains("XOR chunks: 3 chunks, 5.0 samples/chunk, 63 chunk bytes (4.200 B/sample)"))
    }

    @Test func badInputsExitOneNamingFileAndLine() throws {
        let (dir, path) = try Self.file("{a=\"b\"} 1 100\n{a=\"b\"} 1 oops\n")
        defer { try? FileManager.default.removeItem(at: dir) }
        let corrupt = try muninn(["bench", "compression", "--input", path])
        #expect(corrupt.status == 1)
        #expect(corrupt.stderr == "muninn: \(path): line 2: bad timestamp 'oops'\n")

        let missing = try muninn(["bench", "compression", "--input", dir.path + "/absent.txt.gz"])
        #expect(missing.status == 1)
        #expect(missing.stderr == "muninn: \(dir.path)/absent.txt.gz: no such file or directory\n")

        let codec = try muninn(["bench", "compression", "--input", path, "--codec", "xor,zstd"])
        #expect(codec.status == 1)
        #expect(codec.stderr.contains("unknown codec 'zstd'"))
    }

    /// There is no default input (an installed binary has no repository beside
    /// it): without --input the command fails and says what to pass, even where
    /// the old default `../shared/data/real-1s.txt.gz` and `testdata/real-1s.txt.gz`
    /// exist relative to the working directory.
    @Test func missingInputIsExplained() throws {
        let dir = Scratch.path("benchcomp")
        let cwd = dir.appendingPathComponent("a/b")
        for data in [cwd.appendingPathComponent("testdata"), dir.appendingPathComponent("a/shared/data")] {
            try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
            try Self.fixture.write(to: data.appendingPathComponent("real-1s.txt.gz"), atomically: true, encoding: .utf8)
        }
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try muninn(["bench", "compression"], directory: cwd)
        #expect(r.status == 1)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.hasPrefix("muninn: no --input given. Pass --input PATH: a file of Prometheus samples"), "\(r.stderr)")
        #expect(r.stderr.contains("`promtool tsdb dump` output, one sample a line"))
        #expect(r.stderr.contains("OpenMetrics text"))
        #expect(r.stderr.contains("testdata/real-1s.txt.gz is such a file"))
    }
}
