import CStorage
import Engine
import Formats
import Foundation
import StorageTestSupport
import TestSupport
import Testing

/// Damaged blocks: every flipped byte and every truncation is reported as a
/// `FormatError` naming the damaged file; nothing traps.
@Suite(.serialized) struct BlockCorruptionTests {
    /// A small block with several series, several chunks per series and three or
    /// more chunk segments.
    static func makeBlock() throws -> (parent: URL, dir: String) {
        let parent = try TestPaths.temporaryDirectory("block-corrupt")
        let series = Array(BlockFixtures.generatedSeries(seed: 5, count: 12).prefix(8)).map {
            BlockFixtures.Series(labels: $0.labels, samples: Array($0.samples.prefix(90)))
        }
        let range = BlockFixtures.timeRange(series)
        let meta = try #require(
            try BlockWriter.write(
                series: BlockFixtures.blockInput(series, perChunk: 40),
                minTime: range.minTime, maxTime: range.maxTime,
                into: parent.path, segmentSize: 1200))
        let dir = parent.path + "/" + meta.ulid.description
        let reader = try BlockReader(directory: dir)
        #expect(reader.segmentPaths.count >= 3)
        return (parent, dir)
    }

    /// Opens the block and reads and checks everything in it.
    static func readEverything(_ dir: String) throws {
        let reader = try BlockReader(directory: dir)
        try reader.verify()
        for s in try reader.series() { _ = try reader.samples(of: s) }
    }

    /// The error `body` throws; records an issue if it throws something else or nothing.
    static func formatError(
        _ what: String, sourceLocation: SourceLocation = #_sourceLocation,
        _ body: () throws -> Void
    ) -> FormatError? {
        do {
            try body()
            Issue.record("\(what): no error", sourceLocation: sourceLocation)
        } catch let error as FormatError {
            return error
        } catch {
            Issue.record("\(what): \(error)", sourceLocation: sourceLocation)
        }
        return nil
    }

    /// Runs `body` with `path` temporarily holding `bytes`.
    static func withFile(_ path: String, replacedBy bytes: [UInt8], _ body: () throws -> Void) throws {
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? original.write(to: URL(fileURLWithPath: path)) }
        try body()
    }

    @Test func intactBlockReads() throws {
        let (parent, dir) = try Self.makeBlock()
        defer { try? FileManager.default.removeItem(at: parent) }
        try Self.readEverything(dir)
    }

    // MARK: index

    @Test func everyIndexByteFlipIsDetected() throws {
        let (parent, dir) = try Self.makeBlock()
        defer { try? FileManager.default.removeItem(at: parent) }
        let good = try BlockFixtures.read(dir + "/index")
        for i in good.indices {
            var bytes = good
            bytes[i] ^= 0x5A
            let error = Self.formatError("flip at \(i)") {
                let index = try IndexReader(bytes: bytes, file: "b/index")
                try index.verify()
                _ = try index.allSeries()
            }
            #expect(error?.file == "b/index")
        }
    }

    @Test func everyIndexTruncationIsDetected() throws {
        let (parent, dir) = try Self.makeBlock()
        defer { try? FileManager.default.removeItem(at: parent) }
        let good = try BlockFixtures.read(dir + "/index")
        for length in 0..<good.count {
            let error = Self.formatError("truncated to \(length)") {
                let index = try IndexReader(bytes: Array(good[0..<length]), file: "b/index")
                try index.verify()
            }
            #expect(error?.file == "b/index")
        }
    }

    /// One flip inside each section of the file on disk, read through BlockReader.
    @Test func flipInEachIndexSectionNamesTheIndex() throws {
        let (parent, dir) = try Self.makeBlock()
        defer { try? FileManager.default.removeItem(at: parent) }
        let path = dir + "/index"
        let good = try BlockFixtures.read(path)
        let toc = try IndexReader(bytes: good, file: path).toc
        let sections = [
            ("header", 2), ("symbols", toc.symbols + 9), ("series", toc.series + 16), ("label indices", toc.labelIndices + 12),
            ("postings", toc.postings + 8), ("label offset table", toc.labelOffsetTable + 6),
            ("postings offset table", toc.postingsOffsetTable + 9), ("TOC", good.count - 30), ("TOC CRC", good.count - 1)
        ]
        for (name, offset) in sections {
            var bytes = good
            bytes[offset] ^= 0x01
            try Self.withFile(path, replacedBy: bytes) {
                let error = Self.formatError(name) { try Self.readEverything(dir) }
                #expect(error?.file == path, "\(name): \(String(describing: error))")
            }
        }
        let error = Self.formatError("truncated") {
            try Self.withFile(path, replacedBy: Array(good.dropLast(3))) { try Self.readEverything(dir) }
        }
        #expect(error?.file == path)
    }

    /// Garbage behind valid CRCs reaches the decoders themselves.
    @Test func garbageBehindValidChecksumsNeverTraps() throws {
        let (parent, dir) = try Self.makeBlock()
        defer { try? FileManager.default.removeItem(at: parent) }
        let good = try BlockFixtures.read(dir + "/index")
        let index = try IndexReader(bytes: good, file: "index")
        let seriesIDs = try index.allPostings()
        var rng = SplitMix64(seed: 99)
        // (start of the CRC-covered body, its length) for framed sections and series.
        var bodies: [(Int, Int)] = []
        for offset in [
            index.toc.symbols, index.toc.labelOffsetTable, index.toc.postingsOffsetTable, index.toc.postings,
            index.toc.labelIndices + (4 - index.toc.labelIndices % 4) % 4
        ] {
            bodies.append((offset + 4, Int(Self.be32(good, offset))))
        }
        for id in seriesIDs {
            var length: UInt64 = 0
            let n = good.withUnsafeBufferPointer { b in
                Int(cs_get_uvarint(b.baseAddress! + Int(id) * 16, b.baseAddress! + b.count, &length))
            }
            bodies.append((Int(id) * 16 + n, Int(length)))
        }
        for (start, length) in bodies {
            for round in 0..<300 {
                var bytes = good
                let flips = round < 100 ? 1 : Int.random(in: 1...max(1, length), using: &rng)
                for _ in 0..<flips {
                    let at = start + Int.random(in: 0..<length, using: &rng)
                    bytes[at] = round % 3 == 0 ? UInt8.random(in: 0...255, using: &rng) : bytes[at] ^ (1 << UInt8.random(in: 0..<8, using: &rng))
                }
                let crc = bytes.withUnsafeBufferPointer { cs_crc32c(0, $0.baseAddress! + start, length) }
                bytes.replaceSubrange(
                    (start + length)..<(start + length + 4),
                    with: [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)])
                do {
                    let damaged = try IndexReader(bytes: bytes, file: "index")
                    _ = damaged.labelNames()
                    for name in damaged.labelNames() {
                        for value in damaged.labelValues(name) { _ = try? damaged.postings(name: name, value: value) }
                    }
                    for id in seriesIDs { _ = try? damaged.series(id) }
                    _ = try? damaged.allSeries()
                    _ = try? damaged.verify()
                } catch {
                    #expect(error.file == "index")
                }
            }
        }
    }

    @Test func randomBytesAreNeverAnIndex() throws {
        var rng = SplitMix64(seed: 1)
        for _ in 0..<2000 {
            var bytes = (0..<Int.random(in: 0...400, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if bytes.count >= 5, Bool.random(using: &rng) { bytes.replaceSubrange(0..<5, with: [0xBA, 0xAA, 0xD7, 0x00, 0x02]) }
            #expect(throws: FormatError.self) { _ = try IndexReader(bytes: bytes, file: "x") }
        }
    }

    static func be32(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
    }

    // MARK: chunks

    @Test func everyChunkByteFlipIsDetected() throws {
        let (parent, dir) = try Self.makeBlock()
        defer { try? FileManager.default.removeItem(at: parent) }
        let paths = try BlockReader(directory: dir).segmentPaths
        for path in [paths.first!, paths.last!] {
            let good = try BlockFixtures.read(path)
            // Bytes 5–7 are header padding that Prometheus does not check either.
            for i in good.indices where !(5..<8).contains(i) {
                var bytes = good
                bytes[i] ^= 0x5A
                try Self.withFile(path, replacedBy: bytes) {
                    let error = Self.formatError("\(path) flip at \(i)") { try Self.readEverything(dir) }
                    #expect(error?.file == path, "flip at \(i): \(String(describing: error))")
                }
            }
        }
    }

    @Test func everyChunkTruncationIsDetected() throws {
        let (parent, dir) = try Self.makeBlock()
        defer { try? FileManager.default.removeItem(at: parent) }
        let paths = try BlockReader(directory: dir).segmentPaths
        for path in [paths.first!, paths.last!] {
            let good = try BlockFixtures.read(path)
            for length in 0..<good.count {
                try Self.withFile(path, replacedBy: Array(good[0..<length])) {
                    let error = Self.formatError("\(path) truncated to \(length)") { try Self.readEverything(dir) }
                    #expect(error?.file == path, "truncated to \(length): \(String(describing: error))")
                }
            }
        }
    }

    @Test func missingFiles() throws {
        let (parent, dir) = try Self.makeBlock()
        defer { try? FileManager.default.removeItem(at: parent) }
        let fm = FileManager.default
        let paths = try BlockReader(directory: dir).segmentPaths

        try fm.moveItem(atPath: dir + "/tombstones", toPath: parent.path + "/tombstones")
        #expect(try BlockReader(directory: dir).tombstones.isEmpty)
        try Self.readEverything(dir)

        for name in ["index", "meta.json", "chunks"] {
            try fm.moveItem(atPath: dir + "/" + name, toPath: parent.path + "/moved")
            let error = Self.formatError("without \(name)") { try Self.readEverything(dir) }
            #expect(error?.file == dir + "/" + name)
            try fm.moveItem(atPath: parent.path + "/moved", toPath: dir + "/" + name)
        }

        // Without the last segment its refs name a segment the block lacks.
        try fm.moveItem(atPath: paths.last!, toPath: parent.path + "/moved")
        #expect(Self.formatError("without the last segment") { try Self.readEverything(dir) }?.file == dir + "/chunks")
        try fm.moveItem(atPath: parent.path + "/moved", toPath: paths.last!)
        try Self.readEverything(dir)
    }

    // MARK: meta.json and tombstones

    @Test func damagedMetaJSON() throws {
        let (parent, dir) = try Self.makeBlock()
        defer { try? FileManager.default.removeItem(at: parent) }
        let path = dir + "/meta.json"
        let good = try BlockFixtures.read(path)
        for length in 0..<good.count {
            try Self.withFile(path, replacedBy: Array(good[0..<length])) {
                #expect(Self.formatError("truncated to \(length)") { try Self.readEverything(dir) }?.file == path)
            }
        }
        let text = String(decoding: good, as: UTF8.self)
        for (from, to) in [("{", "["), ("\"version\": 1", "\"version\": 7"), ("\"ulid\"", "\"uuid\""), ("\"minTime\": ", "\"minTime\": \"")] {
            try Self.withFile(path, replacedBy: Array(text.replacingOccurrences(of: from, with: to).utf8)) {
                #expect(Self.formatError("\(from) → \(to)") { try Self.readEverything(dir) }?.file == path)
            }
        }
        try Self.withFile(path, replacedBy: Array(text.replacingOccurrences(of: "\"numSamples\": ", with: "\"numSamples\": 1").utf8)) {
            let error = Self.formatError("wrong stats") { try Self.readEverything(dir) }
            #expect(error?.file == path)
            #expect(error?.reason.contains("stats") == true)
        }
        // Any single flipped byte: an error or (for a flip that keeps the JSON valid
        // and consistent) a block that still reads — never a trap.
        for i in good.indices {
            var bytes = good
            bytes[i] ^= 0x5A
            try Self.withFile(path, replacedBy: bytes) {
                do { try Self.readEverything(dir) } catch { #expect(error is FormatError, "flip at \(i): \(error)") }
            }
        }
    }

    @Test func damagedTombstones() throws {
        let (parent, dir) = try Self.makeBlock()
        defer { try? FileManager.default.removeItem(at: parent) }
        let path = dir + "/tombstones"
        let good = try BlockFixtures.read(path)
        #expect(good == BlockWriter.emptyTombstones)
        for i in good.indices {
            var bytes = good
            bytes[i] ^= 0x5A
            try Self.withFile(path, replacedBy: bytes) {
                #expect(Self.formatError("flip at \(i)") { try Self.readEverything(dir) }?.file == path)
            }
        }
        for length in 0..<good.count {
            try Self.withFile(path, replacedBy: Array(good[0..<length])) {
                #expect(Self.formatError("truncated to \(length)") { try Self.readEverything(dir) }?.file == path)
            }
        }
        // A real stone (series 16, [5, 9]) with a valid CRC reads back.
        var stone: [UInt8] = [0x10, 0x0A, 0x12]
        let crc = stone.withUnsafeBufferPointer { cs_crc32c(0, $0.baseAddress!, $0.count) }
        stone = [0x01, 0x30, 0xBA, 0x30, 0x01] + stone + [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)]
        try Self.withFile(path, replacedBy: stone) {
            let tombstones = try BlockReader(directory: dir).tombstones
            #expect(tombstones == [Tombstone(seriesID: 16, minTime: 5, maxTime: 9)])
        }
    }
}
