import Foundation
import StorageTestSupport
import TestSupport
import Testing

@testable import Engine
@testable import Formats

@Suite(.serialized) struct CompactionTests {
    func openPlain(_ dir: String, window: Int64 = 0) throws -> TenantDB {
        let db = try TenantDB.open(
            directory: dir, tenant: "t",
            options: DatabaseOptions(
                wal: WALOptions(segmentSize: 16 * WAL.pageSize, compression: .none, fsync: .never),
                limits: TenantLimits(outOfOrderWindow: window, creationGracePeriod: 0, pastGracePeriod: 0)))
        return db
    }

    /// 10 series, a sample every 15 s from `base` for `hours` hours.
    func ingest(_ db: TenantDB, hours: Int64, from: Int64 = 0) throws -> [Labels: [Sample]] {
        var expected: [Labels: [Sample]] = [:]
        var t = base + from * hour
        while t < base + hours * hour {
            var batch = AppendBatch()
            for i in 0..<10 {
                let labels = series("m", ["i": String(i)])
                let sample = Sample(timestamp: t + Int64(i), value: Double(t / 15_000 % 1000) + Double(i) / 8)
                batch.add(labels, CollectionOfOne(sample))
                expected[labels, default: []].append(sample)
            }
            #expect(try db.append(batch).accepted == 10)
            t += 15_000
        }
        return expected
    }

    func all(_ db: TenantDB) throws -> [Labels: [Sample]] {
        var out: [Labels: [Sample]] = [:]
        for s in try db.select(matchers: [try LabelMatcher(.equal, "__name__", "m")]) { out[s.labels] = try s.samples() }
        return out
    }

    @Test func cutsTheOldestRangeOncePastOneAndAHalfRanges() throws {
        let dir = try TestPaths.temporaryDirectory("cut").path
        let db = try openPlain(dir)
        let expected = try ingest(db, hours: 3)
        #expect(try db.compact().isEmpty, "3h of data spans exactly 1.5 ranges: nothing to cut yet")
        let more = try ingest(db, hours: 5, from: 3)
        let blocks = try db.compact()
        #expect(blocks.count == 1)
        #expect(blocks[0].minTime == base)
        #expect(blocks[0].maxTime == base + 2 * hour)
        #expect(blocks[0].stats.numSeries == 10)
        #expect(blocks[0].stats.numSamples == 10 * 480)
        #expect(db.head.minValidTime == base + 2 * hour)
        var want = expected
        for (k, v) in more { want[k, default: []] += v }
        #expect(try all(db) == want, "queries see blocks and head as one")
        // The WAL was checkpointed: replay no longer holds the cut range.
        #expect(!(try WALSegments.checkpoints(dir + "/wal")).isEmpty)
        try db.close()

        let reopened = try openPlain(dir)
        #expect(try all(reopened) == want)
        #expect(reopened.head.minTime >= base + 2 * hour, "the head replays only what no block holds")
        try reopened.close()

        // Prometheus reads the data directory: blocks plus the WAL (uncompressed).
        let copy = try TestPaths.temporaryDirectory("cut-promtool")
        try FileManager.default.removeItem(at: copy)
        try FileManager.default.copyItem(atPath: dir, toPath: copy.path)
        try run(Promtool.promtool, ["tsdb", "list", copy.path])
        let dump = String(decoding: try run(Promtool.promtool, ["tsdb", "dump", copy.path]), as: UTF8.self)
        var dumped: [Labels: [Sample]] = [:]
        for line in dump.split(separator: "\n") {
            let parsed = try DumpFormat.parse(line)
            dumped[parsed.labels, default: []].append(parsed.sample)
        }
        #expect(dumped == want)
    }

    @Test func flushWritesEverythingAndIdleTenantsAreFlushed() throws {
        let dir = try TestPaths.temporaryDirectory("flush").path
        let db = try openPlain(dir)
        let expected = try ingest(db, hours: 3)
        #expect(try db.flushIfIdle(idleTimeout: 3600).isEmpty, "not idle yet")
        let blocks = try db.flushIfIdle(idleTimeout: 3600, now: Date().addingTimeInterval(3601))
        #expect(blocks.map(\.minTime) == [base, base + 2 * hour])
        #expect(blocks.last?.maxTime == base + 3 * hour - 15_000 + 9 + 1)
        #expect(db.head.seriesCount == 0, "flushed series leave memory")
        #expect(try all(db) == expected)
        // New samples after the flushed data are accepted; older ones are too old.
        #expect(try push(db, series("m", ["i": "0"]), [(base + 4 * hour, 1)]).accepted == 1)
        #expect(try push(db, series("m", ["i": "0"]), [(base + hour, 1)]).rejected == [.outOfOrder: 1])
        #expect(try push(db, series("m", ["i": "5"]), [(base + hour, 1)]).rejected == [.tooOld: 1])
        try db.close()
        let reopened = try openPlain(dir)
        var want = expected
        want[series("m", ["i": "0"])]!.append(Sample(timestamp: base + 4 * hour, value: 1))
        #expect(try all(reopened) == want)
        try reopened.close()
    }

    @Test func outOfOrderDataInCutRangesBecomesItsOwnBlock() throws {
        let dir = try TestPaths.temporaryDirectory("ooo-block").path
        let db = try openPlain(dir, window: 6 * hour)
        var want = try ingest(db, hours: 5)
        #expect(try db.compact().count == 1)
        // Late samples for the already-persisted first range, and for the head's range.
        let a = series("m", ["i": "3"])
        let late = [
            Sample(timestamp: base + hour + 7, value: -1),
            Sample(timestamp: base + 3 * hour + 7, value: -2)
        ]
        for s in late {
            let out = try push(db, a, [(s.timestamp, s.value)])
            #expect(out.outOfOrder == 1, "\(out)")
        }
        want[a] = (want[a]! + late).sorted { $0.timestamp < $1.timestamp }
        #expect(try all(db) == want)
        let flushed = try db.flush()
        #expect(
            flushed.contains { $0.minTime == base + hour + 7 && $0.maxTime == base + 2 * hour },
            "the late sample of the persisted range got a block of its own: \(flushed.map { ($0.minTime, $0.maxTime) })")
        #expect(try all(db) == want)
        try db.close()
        let reopened = try openPlain(dir, window: 6 * hour)
        #expect(try all(reopened) == want)
        #expect(!(try Files.list(dir + "/wbl")).contains { $0 == "00000000" }, "the WBL was rewritten")
        try reopened.close()
    }

    @Test func anInterruptedBlockWriteLeavesNoVisibleBlockAndLosesNothing() throws {
        let dir = try TestPaths.temporaryDirectory("crash-block").path
        let db = try openPlain(dir)
        let expected = try ingest(db, hours: 3)
        try db.close()
        // What a crash in the middle of BlockWriter leaves behind.
        let partial = dir + "/" + ULID.make().description + ".tmp-for-creation"
        try Files.makeDirectory(partial + "/chunks")
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: partial + "/index"))
        let reopened = try openPlain(dir)
        #expect(!Files.exists(partial))
        #expect(reopened.blockMetas.isEmpty)
        #expect(try all(reopened) == expected)
        try reopened.close()
    }
}

@Suite struct ShipAndRetainTests {
    @Test func blocksCutFromTheHeadAreShippedAndOnlyThenExpire() throws {
        let root = try TestPaths.temporaryDirectory("ship-retain").path
        let dir = root + "/tsdb/t"
        let db = try CompactionTests().openPlain(dir)
        _ = try CompactionTests().ingest(db, hours: 5)
        let blocks = try db.compact()
        #expect(blocks.count == 1)

        let farFuture = base + 100 * hour
        // Not shipped yet: retention keeps the block.
        #expect(try db.applyRetention(Retention(), shipped: [], now: farFuture).isEmpty)
        #expect(db.blockMetas.count == 1)

        let bucket = try FilesystemBucket(root: root + "/bucket")
        let shipper = try Shipper(tenant: "t", tenantDirectory: dir, bucket: bucket)
        _ = try shipper.sync()
        #expect(shipper.shipped == [blocks[0].ulid])
        #expect(try bucket.exists("t/\(blocks[0].ulid)/meta.json"))

        let deleted = try db.applyRetention(Retention(), shipped: shipper.shipped, now: farFuture)
        #expect(deleted.map(\.ulid) == [blocks[0].ulid])
        #expect(db.blockMetas.isEmpty)
        #expect(!Files.exists(dir + "/" + blocks[0].ulid.description))
        // The data now lives in the bucket only; the head still serves its own range.
        let left = try db.select(matchers: [try LabelMatcher(.equal, "__name__", "m")])
        #expect(left.allSatisfy { (try? $0.samples().allSatisfy { $0.timestamp >= base + 2 * hour }) == true })
        try db.close()
    }
}

@Suite struct MaintenanceTests {
    @Test func onePassCutsShipsAndExpiresAcrossTenants() throws {
        let root = try TestPaths.temporaryDirectory("maintain").path
        let options = DatabaseOptions(wal: WALOptions(fsync: .never), idleFlushTimeout: 3600)
        let dbs = try Databases(dataDirectory: root, options: options)
        // Data near the wall clock (idle detection and retention both use it):
        // 5 h ending at least an hour ago, starting on a 2 h boundary.
        let now = Date()
        let base = (Int64(now.timeIntervalSince1970 * 1000) - 6 * hour) / (2 * hour) * (2 * hour)
        for tenant in ["a", "b"] {
            let db = try dbs.database(for: tenant)
            for step in 0..<(5 * 240) {
                var batch = AppendBatch()
                for i in 0..<5 { batch.add(series("m", ["i": String(i)]), timestamp: base + Int64(step) * 15_000, value: 1) }
                #expect(try db.append(batch).accepted == 5)
            }
        }
        let bucket = try FilesystemBucket(root: root + "/bucket")

        let first = dbs.maintain(bucket: bucket, now: now)
        #expect(first.failures.isEmpty)
        #expect(first.blocksWritten == 2 && first.blocksShipped == 2 && first.blocksDeleted == 0)
        #expect(try bucket.list(prefix: "a/").count == 1)

        // A day later both tenants are idle: their heads are flushed and shipped,
        // and every block, now in the bucket and past retention, leaves the disk.
        let second = dbs.maintain(bucket: bucket, now: now.addingTimeInterval(20 * 3600))
        #expect(second.failures.isEmpty)
        #expect(second.blocksWritten == 4, "two remaining ranges per tenant")
        #expect(second.blocksShipped == 4)
        #expect(second.blocksDeleted == 6)
        #expect(try bucket.list(prefix: "b/").count == 3)
        #expect(dbs.existing("a")?.head.seriesCount == 0)
        #expect(dbs.existing("a")?.blockMetas.isEmpty == true)
        try dbs.close()
    }
}

@Suite struct PromtoolBlockInTenantTests {
    /// A block written by promtool, dropped into a tenant directory, is served by
    /// our queries sample for sample.
    @Test func promtoolBlocksAreQueried() throws {
        let dir = try TestPaths.temporaryDirectory("promtool-tenant").path
        var rng = SplitMix64(seed: 77)
        let start: Int64 = 1_700_000_000_000
        var input: [Promtool.Series] = []
        for i in 0..<12 {
            var samples: [Sample] = []
            for k in 0..<900 {
                let t: Int64 = start + Int64(k) * 15_000 + Int64(i)
                samples.append(Sample(timestamp: t, value: Double.random(in: -5...5, using: &rng)))
            }
            input.append(Promtool.Series(labels: series(i % 2 == 0 ? "x_total" : "y", ["i": String(i)]), samples: samples))
        }
        let om = dir + "/input.om"
        try Promtool.openMetrics(input).write(toFile: om, atomically: true, encoding: .utf8)
        try run(Promtool.promtool, ["tsdb", "create-blocks-from", "openmetrics", om, dir])
        try FileManager.default.removeItem(atPath: om)

        let db = try TenantDB.open(directory: dir, tenant: "t", options: DatabaseOptions(wal: WALOptions(fsync: .never)))
        #expect(db.blockMetas.count >= 2)
        let got = try db.select(matchers: [try LabelMatcher(.regexMatch, "__name__", "x_total|y")])
        #expect(got.map { $0.labels } == input.map { $0.labels }.sorted())
        for s in got {
            #expect(try s.samples() == input.first { $0.labels == s.labels }!.samples, "\(s.labels)")
        }
        #expect(db.labelValues("i").count == 12)
        try db.close()
    }
}
