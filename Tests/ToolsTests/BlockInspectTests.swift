import CStorage
import Engine
import Formats
import Foundation
import StorageTestSupport
import Testing
import Tools

/// The offline inspection engine (`Sources/Tools/Inspect`): Go text forms,
/// path discovery, verification of intact and corrupted blocks and logs, and
/// that nothing ever writes into the inspected directory.
@Suite struct BlockInspectTests {
    // MARK: Go text

    @Test func floatsPrintAsGoPercentG() {
        let cases: [(Double, String)] = [
            (0, "0"), (-0.0, "-0"), (1, "1"), (-42, "-42"), (123456, "123456"), (999999, "999999"),
            (1e6, "1e+06"), (1_234_567, "1.234567e+06"), (1_795_301_623, "1.795301623e+09"), (0.1, "0.1"),
            (0.0001, "0.0001"), (0.00001, "1e-05"), (3.3873e-05, "3.3873e-05"), (100.5, "100.5"),
            (123456.7, "123456.7"), (999999.5, "999999.5"), (1e21, "1e+21"), (1e100, "1e+100"),
            (2.5e-300, "2.5e-300"), (5e-324, "5e-324"), (.greatestFiniteMagnitude, "1.7976931348623157e+308"),
            (-1.5e-7, "-1.5e-07"), (0.30000000000000004, "0.30000000000000004"), (1.0 / 3, "0.3333333333333333"),
            (.nan, "NaN"), (Double(bitPattern: Sample.staleNaNBits), "NaN"), (.infinity, "+Inf"), (-.infinity, "-Inf")
        ]
        for (v, want) in cases {
            var out: [UInt8] = []
            GoText.appendFloat(v, to: &out)
            #expect(String(decoding: out, as: UTF8.self) == want, "\(v)")
        }
    }

    @Test func stringsQuoteAsGoStrconvQuote() {
        let cases: [(String, String)] = [
            ("plain", #""plain""#),
            ("a\"b\\c", #""a\"b\\c""#),
            ("\n\t\r\u{7}\u{8}\u{C}\u{B}", #""\n\t\r\a\b\f\v""#),
            ("\u{0}\u{1F}\u{7F}", #""\x00\x1f\x7f""#),
            ("é ü 日本 😀", "\"é ü 日本 😀\""),
            ("\u{A0}\u{AD}\u{2028}\u{E0001}", #""\u00a0\u00ad\u2028\U000e0001""#)
        ]
        for (s, want) in cases {
            var out: [UInt8] = []
            GoText.appendQuoted(s, to: &out)
            #expect(String(decoding: out, as: UTF8.self) == want)
        }
    }

    @Test func timesParseAsMillisecondsOrRFC3339() {
        #expect(TimeText.parseMilliseconds("1700000000000") == 1_700_000_000_000)
        #expect(TimeText.parseMilliseconds("-5") == -5)
        #expect(TimeText.parseMilliseconds("2023-11-14T22:13:20Z") == 1_700_000_000_000)
        #expect(TimeText.parseMilliseconds("2023-11-14T23:13:20.250+01:00") == 1_700_000_000_250)
        #expect(TimeText.parseMilliseconds("yesterday") == nil)
        #expect(TimeText.utc(1_700_000_000_250) == "2023-11-14 22:13:20.250 UTC")
        #expect(TimeText.duration(7_200_000) == "2h0m0s")
        #expect(TimeText.duration(2_773_001) == "46m13.001s")
        #expect(TimeText.duration(500) == "500ms")
    }

    // MARK: Discovery

    @Test func discoveryAcceptsEveryLayoutAndNamesBadPaths() throws {
        let root = try TestPaths.temporaryDirectory("discovery").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let series = BlockFixtures.generatedSeries(count: 5)
        let input = try BlockFixtures.blockInput(series)
        let range = BlockFixtures.timeRange(series)
        var dirs: [String] = []
        for tenant in ["b-tenant", "a-tenant"] {
            let meta = try #require(
                try BlockWriter.write(
                    series: input, minTime: range.minTime, maxTime: range.maxTime,
                    into: root + "/data/tsdb/" + tenant))
            dirs.append(root + "/data/tsdb/" + tenant + "/" + meta.ulid.description)
        }
        try FileManager.default.createDirectory(atPath: root + "/data/tsdb/a-tenant/wal", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/data/tsdb/a-tenant/x.tmp-for-creation", withIntermediateDirectories: true)

        let data = try BlockDiscovery(path: root + "/data")
        #expect(data.kind == .dataDirectory)
        #expect(data.databases.map(\.tenant) == ["a-tenant", "b-tenant"])
        #expect(data.databases[0].wal == root + "/data/tsdb/a-tenant/wal")
        #expect(data.databases[1].wal == nil)
        #expect(data.blocks.count == 2)

        let tenants = try BlockDiscovery(path: root + "/data/tsdb")
        #expect(tenants.kind == .tenants)
        #expect(tenants.blocks == data.blocks)

        let db = try BlockDiscovery(path: root + "/data/tsdb/b-tenant/")
        #expect(db.kind == .tenantDatabase)
        #expect(db.blocks.map(\.directory) == [dirs[0]])

        let block = try BlockDiscovery(path: dirs[1])
        #expect(block.kind == .block)
        #expect(block.blocks.map(\.tenant) == ["a-tenant"])
        #expect(block.databases[0].wal == nil, "a lone block has no head")

        #expect(throws: FormatError(file: root + "/missing", offset: 0, reason: "no such file or directory")) {
            try BlockDiscovery(path: root + "/missing")
        }
        try FileManager.default.createDirectory(atPath: root + "/empty/sub", withIntermediateDirectories: true)
        let error = try #require(throws: FormatError.self) { try BlockDiscovery(path: root + "/empty") }
        #expect(error.file == root + "/empty")
        #expect(error.reason.hasPrefix("not a block, tenant database, data directory or bucket"))
        let notDir = try #require(throws: FormatError.self) { try BlockDiscovery(path: dirs[0] + "/index") }
        #expect(notDir.reason.hasPrefix("not a directory"))
    }

    // MARK: Verify

    /// A block by our writer with one tombstone, inside a tenant database whose
    /// uncompressed WAL holds a series, samples after the block and a tombstone. Returns (database dir, block dir); the
    /// database is `<root>/tsdb/t`, see `remove`.
    static func database(_ name: String) throws -> (String, String) {
        let dir = try TestPaths.temporaryDirectory(name).path + "/tsdb/t"
        let series = BlockFixtures.generatedSeries(count: 30)
        let range = BlockFixtures.timeRange(series)
        let meta = try #require(
            try BlockWriter.write(
                series: try BlockFixtures.blockInput(series),
                minTime: range.minTime, maxTime: range.maxTime, into: dir))
        let block = dir + "/" + meta.ulid.description
        // One tombstone for series 0 (its ID is the first series' offset / 16).
        let first = try BlockReader(directory: block).series()[0]
        var stones: [UInt8] = [0x01, 0x30, 0xBA, 0x30, 0x01]
        var body: [UInt8] = []
        appendUvarint(UInt64(first.id), &body)
        appendVarint(range.minTime, &body)
        appendVarint(range.minTime + 60_000, &body)
        stones += body
        let crc = stones.withUnsafeBufferPointer { cs_crc32c(0, $0.baseAddress! + 5, body.count) }
        stones += [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)]
        try Data(stones).write(to: URL(fileURLWithPath: block + "/tombstones"))
        var metaFixed = meta
        metaFixed.stats.numTombstones = 1
        try Data(metaFixed.encoded()).write(to: URL(fileURLWithPath: block + "/meta.json"))

        let (wal, _) = try WAL.open(directory: dir + "/wal", options: WALOptions(compression: .none, fsync: .never))
        try wal.log(.series([WALSeries(ref: 7, labels: Labels(["__name__": "head_only", "job": "x"]))]))
        try wal.log(.samples((0..<50).map { WALSample(ref: 7, timestamp: range.maxTime + Int64($0) * 1000, value: Double($0)) }))
        try wal.log(.tombstones([WALTombstone(ref: 7, minTime: range.maxTime + 10_000, maxTime: range.maxTime + 19_999)]))
        try wal.close()
        return (dir, block)
    }

    /// Deletes the temporary root of a `database(_:)`.
    static func remove(_ databaseDir: String) {
        try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: databaseDir).deletingLastPathComponent().deletingLastPathComponent().path)
    }

    @Test func verifyPassesIntactBlocksAndLogs() throws {
        let (dir, block) = try Self.database("verify-ok")
        defer { Self.remove(dir) }
        let v = BlockVerifier.verify(block: block)
        #expect(v.problems == [])
        let meta = try BlockMeta.read(directory: block)
        #expect(v.series == meta.stats.numSeries && v.chunks == meta.stats.numChunks && v.samples == meta.stats.numSamples)
        let log = BlockVerifier.verify(log: dir + "/wal")
        #expect(log.problems == [])
        #expect(log.records == 3 && log.samples == 50 && log.series == 1)

        // A promtool-written block passes too.
        let tmp = try TestPaths.temporaryDirectory("verify-promtool")
        defer { try? FileManager.default.removeItem(at: tmp) }
        for b in try BlockFixtures.promtoolBlocks(try BlockFixtures.realSeries(limit: 20_000), in: tmp) {
            #expect(BlockVerifier.verify(block: b).problems == [])
        }
    }

    /// Flips one bit of `file` at `offset` (negative: from the end).
    static func flip(_ file: String, at offset: Int, bit: UInt8 = 0x01) throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
        let at = offset >= 0 ? offset : bytes.count + offset
        bytes[at] ^= bit
        try Data(bytes).write(to: URL(fileURLWithPath: file))
    }

    @Test(arguments: [
        ("chunks/000001", 8 + 12),  // inside the first chunk's data
        ("index", 5 + 10),  // inside the symbol table
        ("index", -60),  // inside the postings offset table
        ("tombstones", 2),  // magic
        ("tombstones", 6)  // a stone (CRC mismatch)
    ])
    func verifyNamesTheCorruptBlockFile(file: String, offset: Int) throws {
        let (dir, block) = try Self.database("verify-flip")
        defer { Self.remove(dir) }
        try Self.flip(block + "/" + file, at: offset)
        let problems = BlockVerifier.verify(block: block).problems
        #expect(!problems.isEmpty)
        #expect(Set(problems.map(\.file)) == [block + "/" + file], "\(problems)")
    }

    @Test func verifyNamesEveryChunkAndSeriesProblemNotJustTheFirst() throws {
        let (dir, block) = try Self.database("verify-many")
        defer { Self.remove(dir) }
        let reader = try BlockReader(directory: block)
        let chunks = try reader.series().flatMap(\.chunks)
        try Self.flip(block + "/chunks/000001", at: chunks[3].ref.offset + 9)
        try Self.flip(block + "/chunks/000001", at: chunks[40].ref.offset + 9)
        let problems = BlockVerifier.verify(block: block).problems
        #expect(problems.map(\.offset) == [chunks[3].ref.offset, chunks[40].ref.offset], "\(problems)")
        #expect(problems.allSatisfy { $0.reason.contains("CRC32C") })
    }

    /// Every single-bit flip anywhere in `index` or `chunks/000001` of the
    /// reference block is reported against that file, and dump and analyze either
    /// work or throw: nothing traps.
    @Test func everyFlipIsReportedAndNothingTraps() throws {
        let dir = try TestPaths.temporaryDirectory("verify-every").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let meta = try #require(
            try BlockWriter.write(
                series: try BlockFixtures.referenceSeries(), minTime: BlockFixtures.start,
                maxTime: BlockFixtures.start + 60_000, into: dir))
        let block = dir + "/" + meta.ulid.description
        let discovered = try BlockDiscovery(path: block)
        for file in ["index", "chunks/000001"] {
            let path = block + "/" + file
            let good = try Data(contentsOf: URL(fileURLWithPath: path))
            for offset in 0..<good.count {
                for bit in [UInt8(0x01), 0x80] {
                    var bytes = good
                    bytes[offset] ^= bit
                    try bytes.write(to: URL(fileURLWithPath: path))
                    let problems = BlockVerifier.verify(block: block).problems
                    #expect(problems.contains { $0.file == path }, "\(file) byte \(offset) bit \(bit): \(problems)")
                    _ = try? BlockDump.dump(discovered.databases[0], selection: DumpSelection()) { _ in }
                    _ = try? BlockAnalysis(discovered.blocks[0], limit: 3)
                }
            }
            try good.write(to: URL(fileURLWithPath: path))
        }
        #expect(BlockVerifier.verify(block: block).problems == [])
    }

    @Test func verifyChecksMetaAgainstTheBlock() throws {
        let (dir, block) = try Self.database("verify-meta")
        defer { Self.remove(dir) }
        let path = block + "/meta.json"
        let good = try Data(contentsOf: URL(fileURLWithPath: path))
        let text = String(decoding: good, as: UTF8.self)
        func offset(after key: String, plus: Int = 0) throws -> Int {
            let end = try #require(text.range(of: key)).upperBound
            return text.utf8.distance(from: text.utf8.startIndex, to: end) + plus
        }

        // A flipped low bit in numSamples' last digit (a digit either way): stats mismatch.
        let numberStart = try #require(text.range(of: "\"numSamples\": ")).upperBound
        let digits = text[numberStart...].prefix { $0.isNumber }.count
        try Self.flip(path, at: try offset(after: "\"numSamples\": ", plus: digits - 1))
        let stats = BlockVerifier.verify(block: block).problems
        #expect(stats.map(\.file) == [path])
        #expect(stats.first?.reason.contains("disagree with the block's contents") == true, "\(stats)")

        // A different (valid) ULID than the directory's name.
        var bytes = [UInt8](good)
        let last = try offset(after: "\"ulid\": \"", plus: 25)
        bytes[last] = bytes[last] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let ulid = BlockVerifier.verify(block: block).problems
        #expect(ulid.map(\.file) == [path])
        #expect(ulid.first?.reason.contains("does not match the directory name") == true, "\(ulid)")

        // A flipped bit that breaks the JSON (the opening brace).
        try good.write(to: URL(fileURLWithPath: path))
        try Self.flip(path, at: 0, bit: 0x04)
        let broken = BlockVerifier.verify(block: block).problems
        #expect(broken.map(\.file) == [path])
        #expect(broken.first?.reason.hasPrefix("invalid meta.json") == true, "\(broken)")
    }

    @Test func verifyNamesTheCorruptWALSegment() throws {
        let (dir, _) = try Self.database("verify-wal")
        defer { Self.remove(dir) }
        try Self.flip(dir + "/wal/00000000", at: 40)
        let v = BlockVerifier.verify(log: dir + "/wal")
        #expect(v.problems.map(\.file) == [dir + "/wal/00000000"])
        #expect(v.problems.first?.offset == 0, "the series record at 0 holds byte 40: \(v.problems)")
    }

    /// The index invariants beyond CRCs: rewrite a series entry so its labels
    /// are out of order with a correct CRC; verify must say so.
    @Test func verifyCatchesUnsortedSeriesWithValidCRCs() throws {
        let dir = try TestPaths.temporaryDirectory("verify-order").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let series = try BlockFixtures.referenceSeries()
        let meta = try #require(
            try BlockWriter.write(
                series: series, minTime: BlockFixtures.start,
                maxTime: BlockFixtures.start + 60_000, into: dir))
        let block = dir + "/" + meta.ulid.description
        var index = [UInt8](try Data(contentsOf: URL(fileURLWithPath: block + "/index")))
        // Series 4 (0x40) and 6 (0x60) of the reference layout: swap their
        // instance values x (symbol 7) and y (symbol 8), then fix both CRCs.
        #expect(index[0x40 + 5] == 7 && index[0x60 + 5] == 8)
        index[0x40 + 5] = 8
        index[0x60 + 5] = 7
        for start in [0x40, 0x60] {
            let length = Int(index[start])
            let crc = index.withUnsafeBufferPointer { cs_crc32c(0, $0.baseAddress! + start + 1, length) }
            let at = start + 1 + length
            index[at] = UInt8(crc >> 24); index[at + 1] = UInt8(crc >> 16 & 0xFF)
            index[at + 2] = UInt8(crc >> 8 & 0xFF); index[at + 3] = UInt8(crc & 0xFF)
        }
        try Data(index).write(to: URL(fileURLWithPath: block + "/index"))
        let problems = BlockVerifier.verify(block: block).problems
        #expect(
            problems.contains { $0.file == block + "/index" && $0.offset == 0x60 && $0.reason.contains("does not sort after") },
            "\(problems)")
        #expect(problems.contains { $0.reason.contains("lacks that label") }, "\(problems)")
    }

    // MARK: Read-only

    /// Every entry under `dir`: type, size, modification time and contents.
    static func snapshot(_ dir: String) throws -> [String: String] {
        var out: [String: String] = [:]
        let fm = FileManager.default
        for name in fm.enumerator(atPath: dir)!.compactMap({ $0 as? String }) {
            let path = dir + "/" + name
            let a = try fm.attributesOfItem(atPath: path)
            let mtime = (a[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            var entry = "\(a[.type] ?? "") \(a[.size] ?? "") \(mtime)"
            if a[.type] as? FileAttributeType == .typeRegular {
                entry += " " + (try Data(contentsOf: URL(fileURLWithPath: path))).base64EncodedString()
            }
            out[name] = entry
        }
        return out
    }

    @Test func inspectionNeverWritesIntoThePath() throws {
        let (dir, block) = try Self.database("readonly")
        defer { Self.remove(dir) }
        let root = URL(fileURLWithPath: dir).deletingLastPathComponent().deletingLastPathComponent().path
        let before = try Self.snapshot(root)
        for database in try BlockDiscovery(path: root).databases {
            try BlockDump.dump(database, selection: DumpSelection()) { _ in }
        }
        _ = BlockVerifier.verify(block: block)
        _ = BlockVerifier.verify(log: dir + "/wal")
        _ = try BlockSummary(try BlockDiscovery(path: block).blocks[0])
        _ = try BlockAnalysis(try BlockDiscovery(path: block).blocks[0], limit: 5)
        #expect(try Self.snapshot(root) == before)
    }
}

func appendUvarint(_ v: UInt64, _ out: inout [UInt8]) {
    var v = v
    while v >= 0x80 { out.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
    out.append(UInt8(v))
}

func appendVarint(_ v: Int64, _ out: inout [UInt8]) {
    appendUvarint(UInt64(bitPattern: (v << 1) ^ (v >> 63)), &out)
}
