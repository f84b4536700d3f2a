import CStorage
import Foundation
import StorageTestSupport
import TestSupport
import Testing

@testable import Engine
@testable import Formats
@testable import Tools

/// `bench compression`'s engine: input readers, the XOR bit breakdown (totals
/// must equal the encoded sizes), round trips, and a cross-check of the XOR
/// bytes against the chunks promtool writes for the same samples.
@Suite(.serialized) struct CompressionBenchTests {
    /// Hand-checkable (see `fixtureBreakdown`).
    static let fixture = compressionFixture

    static func write(_ text: String, _ name: String = "input.txt") throws -> (URL, String) {
        let dir = try TestPaths.temporaryDirectory("compression")
        let file = dir.appendingPathComponent(name)
        try text.write(to: file, atomically: true, encoding: .utf8)
        return (dir, file.path)
    }

    static func chunks(_ samples: SeriesSamples) throws -> XORChunks {
        var chunks = XORChunks(capacityFor: samples)
        try chunks.encode(samples)
        return chunks
    }

    @Test func fixtureChunksAreHandChecked() throws {
        let (dir, path) = try Self.write(Self.fixture)
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try CompressionInput.read(path: path)
        #expect(input.kind == "promtool dump")
        #expect(input.samples.names == [#"{__name__="a"}"#, #"{__name__="b"}"#, #"{__name__="c"}"#])
        let chunks = try Self.chunks(input.samples)
        #expect(chunks.chunkCount == 3)
        // a: 16 header + 48 t0 + 64 v0 + 16 Δ1 + 8 × '0' dod + 9 × '0' value = 161 bits → 21 bytes.
        // b: a single-sample chunk, 17 bytes; c: docs/format/chunks.md#worked-example, 25 bytes.
        #expect(Array(chunks.chunk(1)) == hex("0001 80a0abfef962 400c000000000000 00"))
        #expect(Array(chunks.chunk(2)) == hex("0004 80a0abfef962 3ff0000000000000 9875 3115ffc0fa5ff8"))
        #expect(chunks.chunk(0).count == 21)
        #expect(chunks.byteCount == 63)

        let b = try chunks.bitBreakdown()
        func part(_ name: String) -> (Int, Int, Int) {
            let p = b.part(name)!
            return (p.count, p.bits, p.controlBits)
        }
        #expect(part("header") == (3, 48, 0))
        #expect(part("first_timestamp") == (3, 144, 0))
        #expect(part("first_value") == (3, 192, 0))
        #expect(part("second_timestamp") == (2, 32, 0))
        #expect(part("dod_0") == (9, 9, 9))
        #expect(part("dod_14") == (1, 16, 2))
        #expect(part("dod_17") == (0, 0, 0))
        #expect(part("dod_20") == (0, 0, 0))
        #expect(part("dod_64") == (0, 0, 0))
        #expect(part("value_same") == (10, 10, 10))
        #expect(part("value_reuse") == (1, 12, 2))
        #expect(part("value_new") == (1, 23, 13))
        #expect(part("padding") == (3, 18, 0))  // 7 + 8 (2.x zero byte) + 3
        #expect(b.totalBits == 8 * 63)
        #expect(b.timestampBits == 144 + 32 + 9 + 16)
        #expect(b.valueBits == 192 + 10 + 12 + 23)
        #expect(abs(b.part("dod_0")!.share - 0.9) < 1e-12)
        #expect(abs(b.part("value_same")!.share - 10.0 / 12.0) < 1e-12)
        #expect(b.recordOverheadBytes == 3 * 6)
    }

    /// Every bit of real chunks is in exactly one part, and the parts the
    /// analysis finds are the bits the encoder wrote.
    @Test func breakdownAddsUpToEncodedSizes() throws {
        let input = try CompressionInput.read(path: TestPaths.testData.appendingPathComponent("real-15s.txt.gz").path)
        #expect(input.samples.sampleCount == 289_504)
        let chunks = try Self.chunks(input.samples)
        let b = try chunks.bitBreakdown()
        #expect(b.samples == input.samples.sampleCount)
        #expect(b.chunks == chunks.chunkCount)
        #expect(b.totalBits == 8 * chunks.byteCount)
        #expect(b.timestampBits + b.valueBits + b.overheadBits == b.totalBits)
        #expect(b.totalBits - b.overheadBits == chunks.encoderFieldBits)
        #expect(b.part("padding")!.bits < 16 * b.chunks)
        let dods = ["dod_0", "dod_14", "dod_17", "dod_20", "dod_64"].map { b.part($0)!.count }.reduce(0, +)
        let values = ["value_same", "value_reuse", "value_new"].map { b.part($0)!.count }.reduce(0, +)
        #expect(values == b.samples - b.chunks)
        #expect(dods == values - b.part("second_timestamp")!.count)
        // Per chunk too: the analysis of one chunk adds up to its length.
        for i in stride(from: 0, to: chunks.chunkCount, by: 97) {
            var one = cs_xor_bits()
            let c = Array(chunks.chunk(i))
            #expect(cs_xor_bits_add(&one, c, c.count) == CS_OK)
            let sum =
                one.header_bits + one.first_ts_bits + one.first_value_bits + one.second_ts_bits + one.padding_bits
                + withUnsafeBytes(of: one.dod_bits) { $0.bindMemory(to: UInt64.self).reduce(0, +) }
                + withUnsafeBytes(of: one.value_control_bits) { $0.bindMemory(to: UInt64.self).reduce(0, +) }
                + withUnsafeBytes(of: one.value_payload_bits) { $0.bindMemory(to: UInt64.self).reduce(0, +) }
            #expect(sum == UInt64(8 * c.count))
        }
        // A truncated chunk is an error, not a count, and leaves the totals alone;
        // garbage never reads out of bounds (ASan builds would catch it).
        let whole = Array(chunks.chunk(0))
        for cut in 0..<(whole.count - 1) {
            let c = Array(whole.prefix(cut))
            var acc = cs_xor_bits()
            let rc = c.withUnsafeBufferPointer { cs_xor_bits_add(&acc, $0.baseAddress, $0.count) }
            #expect(rc == CS_E_SHORT, "cut at \(cut)")
            #expect(acc.chunks == 0)
        }
        var rng = SplitMix64(seed: 7)
        for _ in 0..<2000 {
            let junk = (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            var acc = cs_xor_bits()
            let rc = junk.withUnsafeBufferPointer { cs_xor_bits_add(&acc, $0.baseAddress, $0.count) }
            #expect(rc == CS_OK || rc == CS_E_SHORT || rc == CS_E_CORRUPT)
            if rc == CS_OK { #expect(acc.header_bits + acc.padding_bits <= UInt64(8 * junk.count)) }
        }
    }

    /// Every codec reproduces every bit, NaN payloads included; a difference is caught.
    @Test func codecsRoundTripExactly() throws {
        var builder = SeriesSamplesBuilder()
        let s = builder.addSeries("stale")
        let payloads: [UInt64] = [Sample.staleNaNBits, 0x7FF8_0000_0000_0001, (-0.0).bitPattern, Double.infinity.bitPattern, 42]
        for k in 0..<2000 { builder.append(series: s, timestamp: 1_700_000_000_000 + Int64(k) * 1000 + Int64(k % 7), valueBits: payloads[k % 5]) }
        let t = builder.addSeries("later-first")
        builder.append(series: t, timestamp: 20, valueBits: Double(2).bitPattern)
        builder.append(series: t, timestamp: 10, valueBits: Double(1).bitPattern)
        builder.append(series: t, timestamp: 20, valueBits: Double(3).bitPattern)
        let samples = builder.build()
        #expect(samples.duplicatesDropped == 1)
        #expect(samples.samples(ofSeries: 1) == [Sample(timestamp: 10, value: 1), Sample(timestamp: 20, value: 2)])
        let input = CompressionInput(path: "memory", kind: "test", samples: samples)
        let report = try CompressionBench.run(input, codecs: CompressionCodec.allCases, options: .init(repetitions: 2, blockSize: 4096))
        #expect(report.codecs.map(\.codec) == CompressionCodec.allCases.map(\.rawValue))
        #expect(report.codecs.allSatisfy { $0.roundTrip })
        #expect(report.codecs[0].bytes == 16 * samples.sampleCount)
        #expect(report.xor?.chunkBytes == report.codecs[1].bytes)

        var values = samples.values
        values[1234] ^= 1
        #expect(throws: CompressionBenchError.self) {
            try CompressionBench.verify(.xor, count: samples.sampleCount, samples, samples.timestamps, values)
        }
    }

    @Test func openMetricsAndGzipInputs() throws {
        let om = """
            # TYPE x gauge
            x 1 1700000000
            x{a="}"} 2.5 1700000000.5 # {trace_id="1"} 1 1700000000.1
            x 1 1700000001.123456

            # EOF
            x 9 9
            """
        let (dir, path) = try Self.write(om, "input.om")
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try CompressionInput.read(path: path)
        #expect(input.kind == "OpenMetrics")
        #expect(input.samples.names == ["x", #"x{a="}"}"#])
        #expect(
            input.samples.samples(ofSeries: 0) == [Sample(timestamp: 1_700_000_000_000, value: 1), Sample(timestamp: 1_700_000_001_123, value: 1)])
        #expect(input.samples.samples(ofSeries: 1) == [Sample(timestamp: 1_700_000_000_500, value: 2.5)])

        let gz = dir.appendingPathComponent("fixture.txt.gz")
        try run("/bin/sh", ["-c", "printf '%s' \"$0\" | gzip -c > \"$1\"", Self.fixture, gz.path])
        let fromGzip = try CompressionInput.read(path: gz.path)
        #expect(fromGzip.samples.sampleCount == 15)
        // A truncated gzip is reported with the file and an offset.
        let bytes = try Data(contentsOf: gz)
        let cut = dir.appendingPathComponent("cut.gz")
        try bytes.prefix(bytes.count - 10).write(to: cut)
        let error = #expect(throws: InputError.self) { try CompressionInput.read(path: cut.path) }
        #expect(error?.file == cut.path)
        #expect(error?.description.contains("gzip") == true)
    }

    @Test func badInputsNameFileAndLine() throws {
        let cases: [(String, Int?, String)] = [
            ("{a=\"b\"} 1 100\n{a=\"b\"} one 200\n", 2, "bad value"),
            ("{a=\"b\"} 1 100\n{a=\"b} 1 200\n", 2, "unterminated"),
            ("{a=\"b\"} 1 100\n{a=\"b\"} 1\n", 2, "missing timestamp"),
            ("{a=\"b\"} 1 100\n{a=\"b\"} 1 99999999999999999999\n", 2, "bad timestamp"),
            ("{a=\"b\"} 1 100\n{a=b} 1 200\n", 2, "expected '\"'"),
            ("x 1 2.x\n", 1, "bad timestamp"),
            ("", nil, "no samples")
        ]
        for (text, line, reason) in cases {
            let (dir, path) = try Self.write(text)
            defer { try? FileManager.default.removeItem(at: dir) }
            let error = #expect(throws: InputError.self) { try CompressionInput.read(path: path) }
            #expect(error?.file == path)
            #expect(error?.line == line, "\(text)")
            #expect(error?.reason.contains(reason) == true, "\(error?.reason ?? "") for \(text)")
        }
        let missing = #expect(throws: InputError.self) { try CompressionInput.read(path: "/nonexistent/x.txt") }
        #expect(missing?.description == "/nonexistent/x.txt: no such file or directory")
        let empty = try TestPaths.temporaryDirectory("compression-empty")
        defer { try? FileManager.default.removeItem(at: empty) }
        #expect(throws: InputError.self) { try CompressionInput.read(path: empty.path) }
    }

    /// The XOR bytes `bench compression` counts are the chunk data bytes of the
    /// blocks promtool cuts from the same samples, chunk for chunk; the segment
    /// files hold those plus each record's framing (`recordOverheadBytes`) plus
    /// an 8-byte header per file. Reading the blocks back gives the same chunks.
    @Test func xorBytesEqualPromtoolBlockChunks() throws {
        let series = try BlockFixtures.realSeries()
        let dir = try TestPaths.temporaryDirectory("compression-promtool")
        defer { try? FileManager.default.removeItem(at: dir) }
        let blocks = try BlockFixtures.promtoolBlocks(series, in: dir)
        #expect(blocks.count >= 2)

        let input = try CompressionInput.read(path: dir.appendingPathComponent("input.om").path)
        #expect(input.kind == "OpenMetrics")
        #expect(input.samples.sampleCount == series.reduce(0) { $0 + $1.samples.count })
        let chunks = try Self.chunks(input.samples)
        let breakdown = try chunks.bitBreakdown()

        var records: [ChunkRecord] = []
        var segmentBytes = 0, segmentFiles = 0
        for block in blocks {
            let chunkDir = block + "/chunks"
            for (i, name) in try FileManager.default.contentsOfDirectory(atPath: chunkDir).sorted().enumerated() {
                records += try ChunkSegment.read(path: chunkDir + "/" + name, segmentIndex: i)
                segmentBytes += try FileManager.default.attributesOfItem(atPath: chunkDir + "/" + name)[.size] as! Int
                segmentFiles += 1
            }
        }
        #expect(records.count == chunks.chunkCount)
        #expect(records.reduce(0) { $0 + $1.data.count } == chunks.byteCount)
        #expect(Set(records.map(\.data)) == Set((0..<chunks.chunkCount).map { Array(chunks.chunk($0)) }))
        #expect(segmentBytes == 8 * segmentFiles + chunks.byteCount + breakdown.recordOverheadBytes)

        // The blocks as input (a database directory): the same samples, the same chunks.
        let fromBlocks = try CompressionInput.read(path: dir.appendingPathComponent("blocks").path)
        #expect(fromBlocks.kind == "tenant database (\(blocks.count) blocks)")
        #expect(fromBlocks.samples.sampleCount == input.samples.sampleCount)
        let rechunked = try Self.chunks(fromBlocks.samples)
        #expect(rechunked.byteCount == chunks.byteCount)
        let oneBlock = try CompressionInput.read(path: blocks[0])
        #expect(oneBlock.kind == "block")
    }

    /// A tenant database is read whole: its blocks and the head its WAL holds.
    @Test func databaseInputIncludesTheHead() throws {
        let dir = try TestPaths.temporaryDirectory("compression-db").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let db = try openDB(dir)
        var written = 0
        for step in 0..<(5 * 240) {
            let t = t0 + Int64(step) * 15_000
            written += try push(db, series("g", ["i": String(step % 3)]), [(t, Double(step))]).accepted
        }
        #expect(try db.compact().count >= 1, "the head spans 5 h: at least one block is cut")
        try db.close()
        let input = try CompressionInput.read(path: dir)
        #expect(
            input.kind
                == "tenant database (\(try FileManager.default.contentsOfDirectory(atPath: dir).filter { ULID($0) != nil }.count) blocks, head from WAL)"
        )
        #expect(input.samples.sampleCount == written)
    }
}
