import Engine
import Formats
import Foundation
import Testing

/// `muninn blocks list|analyze|dump|verify` through the built binary: golden
/// output for a fixed block, byte-identical dumps against promtool, exit codes
/// and messages for bad input, and no writes into PATH.
@Suite(.serialized) struct BlocksCommandTests {
    static let ulid = ULID("01HF7YAT00ABCDEFGHJKMNPQRS")!
    static let start: Int64 = 1_700_000_000_000

    /// `<root>/bucket/tenant-a/<ULID>/`: three series, 15 s apart, one value special.
    static func fixture() throws -> (root: String, block: String) {
        let root = temporaryDirectory("blocks-cli")
        let tenant = root + "/bucket/tenant-a"
        func chunks(_ values: [Double], step: Int64 = 15_000) throws -> [ChunkMeta] {
            let samples = values.enumerated().map { Sample(timestamp: start + Int64($0.offset) * step, value: $0.element) }
            return [
                ChunkMeta(
                    minTime: samples.first!.timestamp, maxTime: samples.last!.timestamp,
                    chunk: try XORChunk(encoding: samples))
            ]
        }
        let series: [(labels: Labels, chunks: [ChunkMeta])] = [
            (Labels(["__name__": "http_requests_total", "code": "200", "job": "api"]), try chunks((0..<8).map { Double($0 * 10) })),
            (Labels(["__name__": "http_requests_total", "code": "500", "job": "api"]), try chunks([1, 1, 2, 3])),
            (
                Labels(["__name__": "temperature", "room": "a \"b\"\\c"]),
                try chunks([21.5, 1e-7, Double(bitPattern: Sample.staleNaNBits), 1234567.25])
            )
        ]
        _ = try BlockWriter.write(series: series, minTime: start, maxTime: start + 7_200_000, into: tenant, ulid: ulid)
        return (root, tenant + "/" + ulid.description)
    }

    @Test func listPrintsOneRowPerBlock() throws {
        let (root, block) = try Self.fixture()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let table = """
            TENANT    ULID                        MIN TIME                     MAX TIME                     DURATION  SERIES  SAMPLES  CHUNKS    SIZE  BYTES/SAMPLE
            tenant-a  01HF7YAT00ABCDEFGHJKMNPQRS  2023-11-14 22:13:20.000 UTC  2023-11-15 00:13:20.000 UTC  2h0m0s         3       16       3  1.0KiB        64.250

            """
        for path in [root + "/bucket", root + "/bucket/tenant-a", block] {
            let r = try muninn(["blocks", "list", path])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout == table, "\(path)")
        }
        let json = try muninn(["blocks", "list", "--format", "json", block])
        #expect(json.status == 0)
        #expect(
            json.stdout == """
                [
                  {
                    "bytesPerSample" : 64.25,
                    "chunks" : 3,
                    "duration" : "2h0m0s",
                    "level" : 1,
                    "maxTime" : 1700007200000,
                    "maxTimeUTC" : "2023-11-15 00:13:20.000 UTC",
                    "minTime" : 1700000000000,
                    "minTimeUTC" : "2023-11-14 22:13:20.000 UTC",
                    "samples" : 16,
                    "series" : 3,
                    "sizeBytes" : 1028,
                    "tenant" : "tenant-a",
                    "ulid" : "01HF7YAT00ABCDEFGHJKMNPQRS"
                  }
                ]

                """)
    }

    @Test func analyzeReportsCardinalityAndChunkShapes() throws {
        let (root, block) = try Self.fixture()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let r = try muninn(["blocks", "analyze", "--limit", "3", root + "/bucket"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(
            r.stdout == """
                Block 01HF7YAT00ABCDEFGHJKMNPQRS (tenant tenant-a)
                Time: 2023-11-14 22:13:20.000 UTC to 2023-11-15 00:13:20.000 UTC (2h0m0s)
                Series: 3  Chunks: 3  Samples: 16
                Label names: 4  Label pairs: 6  Label pair entries: 8
                Size: 1.0KiB (index 623B)  Bytes/sample: 64.250 on disk, 6.438 chunk data

                Top metric names by series:
                  2  http_requests_total
                  1  temperature

                Label names by distinct values:
                  VALUES  SERIES  NAME
                       2       3  __name__
                       2       2  code
                       1       2  job

                Label pairs by series:
                  2  __name__=http_requests_total
                  2  job=api
                  1  __name__=temperature

                Chunks:
                                     MIN  P50  P90  P99  MAX  MEAN
                  bytes per chunk     24   34   45   45   45  34.3
                  samples per chunk    4    4    8    8    8   5.3

                """)
        #expect(try muninn(["blocks", "analyze", "--limit", "0", block]).status != 0)
    }

    @Test func dumpMatchesPromtoolByteForByte() throws {
        let (root, block) = try Self.fixture()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let ours = try muninn(["blocks", "dump", block])
        #expect(ours.status == 0, "\(ours.stderr)")
        // promtool dumps a database: a writable copy holding the block and wal/.
        let copy = root + "/copy"
        try FileManager.default.createDirectory(atPath: copy + "/wal", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: block, toPath: copy + "/" + Self.ulid.description)
        #expect(ours.stdout == (try promtool(["tsdb", "dump", copy])))
        #expect(ours.stdout.contains(#"{__name__="temperature", room="a \"b\"\\c"} 1.23456725e+06 1700000045000"#))
        #expect(ours.stdout.contains(#"room="a \"b\"\\c"} NaN 1700000030000"#))

        let selected = try muninn([
            "blocks", "dump", "--match", #"{__name__=~"http.*",code!="500"}"#,
            "--min-time", "2023-11-14T22:13:30Z", "--max-time", "1700000060000", block
        ])
        #expect(selected.status == 0, "\(selected.stderr)")
        #expect(
            selected.stdout
                == (try promtool([
                    "tsdb", "dump", "--match", #"{__name__=~"http.*",code!="500"}"#,
                    "--min-time", "1700000010000", "--max-time", "1700000060000", copy
                ])))
        #expect(selected.stdout.split(separator: "\n").count == 4)
    }

    @Test func verifyReportsOkOrEveryProblemWithFileAndOffset() throws {
        let (root, block) = try Self.fixture()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let ok = try muninn(["blocks", "verify", root + "/bucket"])
        #expect(ok.status == 0)
        #expect(ok.stdout == "ok: \(block): 3 series, 3 chunks, 16 samples\n")

        var chunk = [UInt8](FileManager.default.contents(atPath: block + "/chunks/000001")!)
        chunk[8 + 20] ^= 0x10
        try Data(chunk).write(to: URL(fileURLWithPath: block + "/chunks/000001"))
        var index = [UInt8](FileManager.default.contents(atPath: block + "/index")!)
        index[index.count - 10] ^= 0x01  // inside the TOC
        try Data(index).write(to: URL(fileURLWithPath: block + "/index"))
        let bad = try muninn(["blocks", "verify", block])
        #expect(bad.status == 1)
        #expect(bad.stdout.contains("\(block)/chunks/000001: offset 8: chunk CRC32C"), "\(bad.stdout)")
        #expect(bad.stdout.contains("\(block)/index: offset \(index.count - 52): TOC CRC32C"), "\(bad.stdout)")
        #expect(bad.stderr == "muninn: verify: 2 problem(s) in 1 of 1 blocks and logs under \(block)\n")
    }

    @Test func badPathsAndArgumentsFailClearly() throws {
        let (root, block) = try Self.fixture()
        defer { try? FileManager.default.removeItem(atPath: root) }
        for command in ["list", "analyze", "dump", "verify"] {
            let missing = try muninn(["blocks", command, root + "/nope"])
            #expect(missing.status == 1)
            #expect(missing.stderr == "muninn: \(root)/nope: no such file or directory\n")
            let file = try muninn(["blocks", command, block + "/index"])
            #expect(file.status == 1)
            #expect(file.stderr.hasPrefix("muninn: \(block)/index: not a directory"))
            let notBlock = try muninn(["blocks", command, block + "/chunks"])
            #expect(notBlock.status == 1)
            #expect(notBlock.stderr.hasPrefix("muninn: \(block)/chunks: not a block, tenant database"), "\(notBlock.stderr)")
        }
        #expect(try muninn(["blocks", "dump", "--match", "{job=~\"(\"}", block]).stderr.hasPrefix("muninn: --match"))
        #expect(
            try muninn(["blocks", "dump", "--min-time", "soon", block]).stderr
                == "muninn: --min-time soon: not a millisecond timestamp or RFC 3339 time\n")
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: block + "/index"))
        for command in ["dump", "analyze"] {
            let corrupt = try muninn(["blocks", command, block])
            #expect(corrupt.status == 1)
            #expect(corrupt.stderr.hasPrefix("muninn: \(block)/index: offset 0: file is 3 bytes"), "\(corrupt.stderr)")
        }
        try FileManager.default.removeItem(atPath: block + "/meta.json")
        let noMeta = try muninn(["blocks", "list", block])
        #expect(noMeta.status == 1)
        #expect(noMeta.stderr.contains("\(block)/meta.json: offset 0: missing"))
    }

    @Test func commandsNeverWriteIntoThePath() throws {
        let (root, block) = try Self.fixture()
        defer { try? FileManager.default.removeItem(atPath: root) }
        // A data directory (a block and a WAL) next to a bucket: every layout at once.
        let data = root + "/data/tsdb/t1"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: block, toPath: data + "/" + Self.ulid.description)
        let (wal, _) = try WAL.open(directory: data + "/wal", options: WALOptions(fsync: .never))
        try wal.log(.series([WALSeries(ref: 1, labels: Labels(["__name__": "up"]))]))
        try wal.log(.samples([WALSample(ref: 1, timestamp: Self.start + 7_200_000, value: 1)]))
        try wal.close()
        func snapshot() throws -> [String: Data] {
            var out: [String: Data] = [:]
            for name in FileManager.default.enumerator(atPath: root)!.compactMap({ $0 as? String }) {
                let a = try FileManager.default.attributesOfItem(atPath: root + "/" + name)
                out[name] =
                    Data("\(a[.size] ?? 0) \((a[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)".utf8)
                    + (FileManager.default.contents(atPath: root + "/" + name) ?? Data())
            }
            return out
        }
        let before = try snapshot()
        for path in [root + "/bucket", root + "/data"] {
            for command in [["list"], ["analyze"], ["dump"], ["verify"]] {
                let r = try muninn(["blocks"] + command + [path])
                #expect(r.status == 0, "\(command) \(path): \(r.stderr)")
            }
        }
        let dump = try muninn(["blocks", "dump", root + "/data"]).stdout
        #expect(dump.hasSuffix("{__name__=\"up\"} 1 1700007200000\n"), "the head comes after the block's series: \(dump)")
        #expect(dump.split(separator: "\n").count == 17)
        #expect(try snapshot() == before)
    }
}

/// Standard output of the real promtool; throws on a non-zero exit.
func promtool(_ arguments: [String]) throws -> String {
    try runTool("/usr/bin/promtool", arguments)
}
