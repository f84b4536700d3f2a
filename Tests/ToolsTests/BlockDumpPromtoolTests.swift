import Engine
import Formats
import Foundation
import StorageTestSupport
import Testing
import Tools

/// `BlockDump` prints exactly what `promtool tsdb dump` (Prometheus 2.42)
/// prints for the same data: promtool's blocks, ours, and a tenant database with
/// blocks, WAL and WBL.
@Suite(.serialized) struct BlockDumpPromtoolTests {
    /// promtool's dump of a copy of `dir` (it needs `wal/` and writes `chunks_head/`).
    static func promtoolDump(_ dir: String, _ arguments: [String] = []) throws -> String {
        let copy = try TestPaths.temporaryDirectory("promtool-dump").appendingPathComponent("db")
        defer { try? FileManager.default.removeItem(at: copy.deletingLastPathComponent()) }
        try FileManager.default.copyItem(atPath: dir, toPath: copy.path)
        try FileManager.default.createDirectory(at: copy.appendingPathComponent("wal"), withIntermediateDirectories: true)
        return String(decoding: try run(BlockFixtures.promtool, ["tsdb", "dump"] + arguments + [copy.path]), as: UTF8.self)
    }

    static func ourDump(_ path: String, _ selection: DumpSelection = DumpSelection()) throws -> String {
        var out: [UInt8] = []
        for database in try BlockDiscovery(path: path).databases {
            try BlockDump.dump(database, selection: selection) { out += $0 }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Compares line counts first so a mismatch reports something readable.
    static func expectSame(_ ours: String, _ theirs: String, _ what: String) {
        let a = ours.split(separator: "\n", omittingEmptySubsequences: false)
        let b = theirs.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(a.count == b.count, "\(what): \(a.count) lines, promtool \(b.count)")
        if let i = zip(a, b).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
            Issue.record("\(what): line \(i + 1) differs:\n ours:     \(a[i])\n promtool: \(b[i])")
        }
        #expect(ours == theirs)
    }

    @Test func promtoolBlocksOfRealDataDumpIdentically() throws {
        let dir = try TestPaths.temporaryDirectory("dump-real")
        defer { try? FileManager.default.removeItem(at: dir) }
        let blocks = try BlockFixtures.promtoolBlocks(try BlockFixtures.realSeries(), in: dir)
        #expect(blocks.count >= 1)
        let db = dir.appendingPathComponent("blocks").path
        let all = try Self.promtoolDump(db)
        #expect(all.split(separator: "\n").count > 30_000)
        Self.expectSame(try Self.ourDump(db), all, "all blocks")

        // Selection: a regex matcher and an inclusive time window.
        let lines = all.split(separator: "\n")
        let mint = Int64(lines[lines.count / 3].split(separator: " ").last!)!
        let maxt = mint + 3_600_000
        let selected = try Self.promtoolDump(
            db,
            [
                "--match", #"{job="node",__name__=~"node_.*"}"#,
                "--min-time", String(mint), "--max-time", String(maxt)
            ])
        #expect(!selected.isEmpty)
        let selection = DumpSelection(
            matchers: try SelectorParser.parse(#"{job="node",__name__=~"node_.*"}"#),
            minTime: mint, maxTime: maxt)
        Self.expectSame(try Self.ourDump(db, selection), selected, "selection")

        // One block on its own: promtool dumps a directory holding just that block.
        let single = dir.appendingPathComponent("single").path
        try FileManager.default.createDirectory(atPath: single, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: blocks[0], toPath: single + "/" + URL(fileURLWithPath: blocks[0]).lastPathComponent)
        Self.expectSame(try Self.ourDump(blocks[0]), try Self.promtoolDump(single), "one block")
    }

    @Test func ourBlockWithOddValuesAndLabelsDumpsIdentically() throws {
        let dir = try TestPaths.temporaryDirectory("dump-ours").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var series = BlockFixtures.generatedSeries(count: 60)
        series.append(
            .init(
                labels: Labels(["__name__": "odd", "v": "tab\there\u{1}\u{A0}😀"]),
                samples: [
                    Sample(timestamp: BlockFixtures.start, valueBits: Sample.staleNaNBits),
                    Sample(timestamp: BlockFixtures.start + 1, value: 1e-7),
                    Sample(timestamp: BlockFixtures.start + 2, value: 123456789.125)
                ]))
        series.append(.init(labels: Labels(["job": "no-name"]), samples: [Sample(timestamp: BlockFixtures.start, value: -0.0)]))
        series.sort { $0.labels < $1.labels }
        let range = BlockFixtures.timeRange(series)
        _ = try #require(
            try BlockWriter.write(
                series: try BlockFixtures.blockInput(series), minTime: range.minTime,
                maxTime: range.maxTime, into: dir))
        Self.expectSame(try Self.ourDump(dir), try Self.promtoolDump(dir), "our block")
    }

    /// Tombstones: one in the block's `tombstones` file, one in the WAL.
    @Test func tombstonesHideSamplesAsInPromtool() throws {
        let (dir, block) = try BlockInspectTests.database("dump-stones")
        defer { BlockInspectTests.remove(dir) }
        let theirs = try Self.promtoolDump(dir)
        let ours = try Self.ourDump(dir)
        Self.expectSame(ours, theirs, "tombstones")
        let first = try BlockReader(directory: block).series()[0].labels
        let meta = try BlockMeta.read(directory: block)
        let firstLines = ours.split(separator: "\n").filter { $0.hasPrefix(first.description + " ") }
        #expect(firstLines.allSatisfy { Int64($0.split(separator: " ").last!)! > meta.minTime + 60_000 }, "block tombstone applied")
        let head = ours.split(separator: "\n").filter { $0.hasPrefix("{__name__=\"head_only\"") }
        #expect(head.count == 40, "WAL tombstone removes 10 of 50 samples")
    }

    /// A tenant database after a cut: one block, a checkpointed WAL with the
    /// head's samples (a stale marker among them) and a WBL with late samples.
    @Test func tenantDatabaseWithHeadDumpsLikePromtool() throws {
        let dir = try TestPaths.temporaryDirectory("dump-db").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let db = try TenantDB.open(
            directory: dir, tenant: "t",
            options: DatabaseOptions(
                // Uncompressed: Prometheus 2.42 reads snappy but not LZ4 records.
                wal: WALOptions(segmentSize: 16 * WAL.pageSize, compression: .none, fsync: .never),
                limits: TenantLimits(outOfOrderWindow: 6 * hour, creationGracePeriod: 0, pastGracePeriod: 0)))
        var t = base
        while t < base + 5 * hour {
            var batch = AppendBatch()
            for i in 0..<10 {
                let stale = i == 4 && t == base + 4 * hour
                let value = stale ? Double(bitPattern: Sample.staleNaNBits) : Double(t / 15_000 % 1000) + Double(i) / 8
                batch.add(series("m", ["i": String(i)]), CollectionOfOne(Sample(timestamp: t + Int64(i), value: value)))
            }
            #expect(try db.append(batch).accepted == 10)
            t += 15_000
        }
        #expect(try db.compact().count == 1)
        // Late samples: one inside the persisted range, one in the head's range.
        for late in [base + hour + 7, base + 3 * hour + 7] {
            #expect(try push(db, series("m", ["i": "3"]), [(late, -1)]).outOfOrder == 1)
        }
        try db.close()
        let files = try FileManager.default.subpathsOfDirectory(atPath: dir)
        #expect(try !WALSegments.list(dir + "/wbl").isEmpty, "\(files)")
        #expect(try BlockDiscovery(path: dir).databases[0].blocks.count == 1)
        let theirs = try Self.promtoolDump(dir)
        #expect(theirs.contains("NaN"))
        for late in [base + hour + 7, base + 3 * hour + 7] {
            #expect(theirs.contains("{__name__=\"m\", i=\"3\"} -1 \(late)\n"), "the WBL's late sample at \(late)")
        }
        Self.expectSame(try Self.ourDump(dir), theirs, "tenant database")
    }
}
