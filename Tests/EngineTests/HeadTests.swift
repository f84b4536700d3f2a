import Foundation
import StorageTestSupport
import TestSupport
import Testing

@testable import Engine
@testable import Formats

@Suite struct HeadAppendTests {
    @Test func acceptsInOrderSamplesAndReturnsRefs() throws {
        let db = try openDB()
        let a = series("up", ["job": "a"])
        let out = try push(db, a, [(t0, 1), (t0 + 15_000, 0)])
        #expect(out.accepted == 2 && out.rejectedCount == 0 && out.seriesCreated == 1)
        #expect(out.refs == [1])
        var byRef = AppendBatch()
        byRef.add(ref: 1, timestamp: t0 + 30_000, value: 1)
        #expect(try db.append(byRef).accepted == 1)
        #expect(
            try everything(db)[a] == [
                Sample(timestamp: t0, value: 1), Sample(timestamp: t0 + 15_000, value: 0),
                Sample(timestamp: t0 + 30_000, value: 1)
            ])
        var unknown = AppendBatch()
        unknown.add(ref: 99, timestamp: t0, value: 1)
        #expect(throws: UnknownSeriesRefError.self) { try db.append(unknown) }
    }

    @Test func everySampleRejectionReason() throws {
        let db = try openDB()
        let a = series("m", ["i": "1"])
        try push(db, a, [(t0, 1), (t0 + 10_000, 2)])

        var out = try push(db, a, [(t0 + 5_000, 9)])
        #expect(out.rejected == [.outOfOrder: 1])
        #expect(out.firstRejection?.reason == .outOfOrder)
        #expect(out.firstRejection?.labels == a)

        out = try push(db, a, [(t0 + 10_000, 3)])
        #expect(out.rejected == [.duplicateTimestamp: 1])
        out = try push(db, a, [(t0 + 10_000, 2)])
        #expect(out.rejectedCount == 0 && out.duplicatesIgnored == 1 && out.accepted == 0)

        out = try push(db, a, [(db.clock() + 11 * 60_000, 1)])
        #expect(out.rejected == [.tooFarInFuture: 1])

        // A new series can't start more than half a chunk range behind the head.
        out = try push(db, series("m", ["i": "2"]), [(t0 + 10_000 - 3_600_001, 1)])
        #expect(out.rejected == [.tooOld: 1])
        #expect(out.seriesCreated == 0)
        #expect(db.head.seriesCount == 1)
        // The message names the series and the reason.
        #expect(out.firstRejection!.description.contains("sample-timestamp-too-old"))
        #expect(out.firstRejection!.description.contains("i=\"2\""))
    }

    @Test func seriesLimitsRejectWithoutCreatingHalfSeries() throws {
        let limits = TenantLimits(
            maxSeries: 3, maxSeriesPerMetric: 2, maxLabelNamesPerSeries: 3,
            maxLabelNameLength: 10, maxLabelValueLength: 12)
        let db = try openDB(limits: limits)
        try push(db, series("a", ["i": "1"]), [(t0, 1)])
        try push(db, series("a", ["i": "2"]), [(t0, 1)])
        #expect(try push(db, series("a", ["i": "3"]), [(t0, 1)]).rejected == [.maxSeriesPerMetric: 1])
        try push(db, series("b"), [(t0, 1)])
        #expect(try push(db, series("c"), [(t0, 1)]).rejected == [.maxSeries: 1])
        #expect(try push(db, series("a", ["i": "1", "x": "1", "y": "1"]), [(t0, 1), (t0 + 1, 1)]).rejected == [.maxLabelNames: 2])
        #expect(try push(db, series("a", ["very_long_name": "1"]), [(t0, 1)]).rejected == [.labelNameTooLong: 1])
        #expect(try push(db, series("a", ["i": String(repeating: "v", count: 13)]), [(t0, 1)]).rejected == [.labelValueTooLong: 1])
        // Existing series keep accepting samples at the limit.
        #expect(try push(db, series("a", ["i": "1"]), [(t0 + 1, 1)]).accepted == 1)
        #expect(db.head.seriesCount == 3)
        #expect(try everything(db).count == 3)
    }

    @Test func rateLimitRefusesTheWholeRequest() throws {
        let db = try openDB(limits: TenantLimits(ingestionRate: 10, ingestionBurst: 5))
        #expect(try push(db, series("a"), [(t0, 1), (t0 + 1, 1), (t0 + 2, 1)]).accepted == 3)
        #expect(throws: RateLimitedError.self) { try push(db, series("a"), [(t0 + 3, 1), (t0 + 4, 1), (t0 + 5, 1)]) }
        #expect(try everything(db)[series("a")]?.count == 3)
    }

    @Test func sameNewSeriesTwiceInOneBatchIsCreatedOnce() throws {
        let db = try openDB()
        var batch = AppendBatch()
        batch.add(series("x"), timestamp: t0, value: 1)
        batch.add(series("x"), timestamp: t0 + 1, value: 2)
        let out = try db.append(batch)
        #expect(out.seriesCreated == 1 && out.accepted == 2 && out.refs == [1, 1])
        #expect(try everything(db)[series("x")]?.count == 2)
    }
}

@Suite struct HeadChunkCuttingTests {
    /// The head cuts chunks exactly where Prometheus does: ingesting the real data
    /// and promtool's blocks hold the same chunk bytes in the same order.
    @Test func chunksMatchPrometheusOnRealData() throws {
        let file = TestPaths.testData.appendingPathComponent("real-1s.txt.gz")
        var bySeries: [Labels: [Sample]] = [:]
        for line in try gzipLines(file, limit: 60_000) {
            let parsed = try DumpFormat.parse(line)
            bySeries[parsed.labels, default: []].append(parsed.sample)
        }
        let all = bySeries.map { Promtool.Series(labels: $0.key, samples: $0.value.map(Promtool.viaText)) }
            .sorted { $0.labels < $1.labels }.dropLast()
        let blocks = try Promtool.promtoolBlocks(Array(all))

        let head = Head()
        var ours: [[UInt8]] = []
        for s in all {
            let id = head.createSeries(ref: head.lastRef + 1, labels: s.labels)
            for sample in s.samples { head.appendInOrder(id, sample.timestamp, sample.value.bitPattern) }
        }
        // promtool lays chunks out block by block; regroup ours the same way.
        for b in blocks {
            for s in all {
                let id = Int(head.lookup(s.labels)!)
                ours += head.snapshot(id, mint: b.minTime, maxt: b.maxTime - 1).chunks.map(\.chunk.bytes)
            }
        }
        let theirs = blocks.flatMap { $0.chunks.map(\.data) }
        #expect(ours.count == theirs.count)
        #expect(ours == theirs)
    }
}

@Suite struct OutOfOrderTests {
    /// Random single-sample commits against a brute-force model of the rules.
    @Test(arguments: [Int64(0), 30_000, 600_000])
    func matchesModel(window: Int64) throws {
        let db = try openDB(limits: TenantLimits(outOfOrderWindow: window))
        var rng = SplitMix64(seed: UInt64(window) + 1)
        var model: [Labels: [Int64: Double]] = [:]
        var newest: [Labels: Int64] = [:]
        var headMax = Int64.min
        let names = (0..<5).map { series("s", ["i": String($0)]) }
        for _ in 0..<3000 {
            let labels = names.randomElement(using: &rng)!
            let t = t0 + Int64.random(in: 0...1_200_000, using: &rng)
            let v = Double(Int.random(in: 0...3, using: &rng))
            let out = try push(db, labels, [(t, v)])
            // The model's verdict.
            let expected: String
            if let n = newest[labels], t <= n {
                if let old = model[labels]?[t] {
                    expected = old == v ? "dup" : "reject"
                } else if window > 0, t >= headMax - window {
                    expected = "ooo"
                } else {
                    expected = "reject"
                }
            } else if headMax != .min, t < headMax - 3_600_000 {
                expected = "reject"
            } else {
                expected = "in-order"
            }
            switch expected {
            case "in-order": #expect(out.accepted == 1 && out.outOfOrder == 0)
            case "ooo": #expect(out.accepted == 1 && out.outOfOrder == 1)
            case "dup": #expect(out.duplicatesIgnored == 1)
            default: #expect(out.rejectedCount == 1)
            }
            if out.accepted == 1 {
                model[labels, default: [:]][t] = v
                if out.outOfOrder == 0 { newest[labels] = t; headMax = max(headMax, t) }
            }
        }
        let stored = try everything(db)
        for (labels, samples) in model {
            #expect(stored[labels] == samples.sorted { $0.key < $1.key }.map { Sample(timestamp: $0.key, value: $0.value) })
        }
        // Restart: WAL and WBL replay restore the same view.
        try db.close()
        let reopened = try openDB(db.directory, limits: TenantLimits(outOfOrderWindow: window))
        #expect(try everything(reopened) == stored)
        try reopened.close()
    }
}

@Suite struct HeadRestartTests {
    @Test func closeAndReopenGivesTheSameAnswers() throws {
        let db = try openDB()
        var rng = SplitMix64(seed: 8)
        for step in 0..<400 {
            var batch = AppendBatch()
            for i in 0..<50 {
                batch.add(
                    series(i % 3 == 0 ? "a_total" : "b", ["i": String(i), "zone": i % 2 == 0 ? "x" : "y"]),
                    timestamp: t0 + Int64(step) * 15_000 + Int64(i), value: Double.random(in: 0...100, using: &rng))
            }
            _ = try db.append(batch)
        }
        let before = try everything(db)
        #expect(before.values.reduce(0) { $0 + $1.count } == 400 * 50)
        let names = db.head.labelNames()
        try db.close()
        let reopened = try openDB(db.directory)
        #expect(try everything(reopened) == before)
        #expect(reopened.head.labelNames() == names)
        #expect(reopened.head.lastRef == 50)
        // New series continue after the replayed refs.
        #expect(try push(reopened, series("new"), [(t0 + 7_000_000, 1)]).refs == [51])
        try reopened.close()
    }

    /// Opening sweeps what a crash left: a block half written, a block half
    /// deleted, a temporary state file.
    @Test func openRemovesLeftoversOfInterruptedWork() throws {
        let db = try openDB()
        _ = try push(db, series("a"), [(t0, 1)])
        try db.close()
        let leftovers = [
            ULID.make().description + ".tmp-for-creation", ULID.make().description + ".tmp-for-deletion",
            "mimir.shipper.json.tmp"
        ]
        for name in leftovers.dropLast() {
            try FileManager.default.createDirectory(atPath: db.directory + "/" + name + "/chunks", withIntermediateDirectories: true)
        }
        try Data([1]).write(to: URL(fileURLWithPath: db.directory + "/" + leftovers[2]))
        let reopened = try openDB(db.directory)
        let names = try FileManager.default.contentsOfDirectory(atPath: db.directory)
        #expect(Set(names).isDisjoint(with: leftovers), "\(names)")
        #expect(try everything(reopened).values.reduce(0) { $0 + $1.count } == 1)
        try reopened.close()
    }
}

@Suite struct GracePeriodTests {
    /// An empty head has no newest sample to measure "too old" against: the wall
    /// clock bounds what a fresh tenant takes, per sample.
    @Test func anEmptyHeadRefusesSamplesOutsideTheGracePeriods() throws {
        let db = try openDB()
        let now = db.clock()
        var batch = AppendBatch()
        batch.add(series("c"), CollectionOfOne(Sample(timestamp: now - TenantLimits.defaultPastGracePeriod - 1, value: 1)))
        batch.add(series("a"), [Int64.min, now].map { Sample(timestamp: $0, value: 1) })
        batch.add(series("b"), CollectionOfOne(Sample(timestamp: .max, value: 1)))
        let out = try db.append(batch)
        #expect(out.accepted == 1 && out.seriesCreated == 1)
        #expect(out.rejected == [.tooFarInPast: 2, .tooFarInFuture: 1])
        #expect(
            out.firstRejection?.description.hasPrefix("sample-too-far-in-past: timestamp is more than 31536000s behind the wall clock") == true,
            "\(out.firstRejection?.description ?? "")")
        #expect(try everything(db) == [series("a"): [Sample(timestamp: now, value: 1)]])
        #expect(db.head.minTime == now)
        // The oldest sample still inside the window is taken.
        let edge = try openDB()
        #expect(try push(edge, series("a"), [(now - TenantLimits.defaultPastGracePeriod, 1)]).accepted == 1)
    }

    @Test func aZeroPastGracePeriodIsOff() throws {
        let db = try openDB(limits: TenantLimits(pastGracePeriod: 0))
        #expect(try push(db, series("a"), [(db.clock() - 10 * TenantLimits.defaultPastGracePeriod, 1)]).accepted == 1)
    }
}

@Suite struct DatabasesTests {
    @Test func tenantsAreCreatedOnFirstWriteAndReopened() throws {
        let data = try TestPaths.temporaryDirectory("dbs").path
        let options = DatabaseOptions(wal: WALOptions(fsync: .never))
        let dbs = try Databases(dataDirectory: data, options: options)
        #expect(dbs.tenants.isEmpty)
        for tenant in ["team-a", "team_b"] {
            try push(try dbs.database(for: tenant), series("up", ["t": tenant]), [(Int64(Date().timeIntervalSince1970 * 1000), 1)])
        }
        #expect(dbs.tenants == ["team-a", "team_b"])
        #expect(Files.exists(data + "/tsdb/team-a/wal"))
        try dbs.close()
        let reopened = try Databases(dataDirectory: data, options: options)
        #expect(reopened.tenants == ["team-a", "team_b"])
        #expect(reopened.existing("team_b")?.head.labelValues("t") == ["team_b"])
        try reopened.close()
    }

    @Test(arguments: [
        "", ".", "..", "a/b", "a\u{0}b", "tab\tid", String(repeating: "x", count: 151), "ünïcode",
        "a.tmp-for-creation", "team.tmp-x", ".tmp-", "team.tmp", ".tmp"
    ])
    func unsafeTenantIDsAreRefused(id: String) throws {
        let dbs = try Databases(dataDirectory: try TestPaths.temporaryDirectory("dbs-bad").path)
        #expect(throws: TenantID.Invalid.self) { try dbs.database(for: id) }
    }

    /// Names of temporary files are refused with the reason; near misses are fine.
    @Test func temporaryFileNamesAreNotTenantIDs() throws {
        #expect(
            throws: TenantID.Invalid(reason: "tenant ID \"x.tmp-for-deletion\" contains \".tmp-\" or ends in \".tmp\", reserved for temporary files")
        ) {
            try TenantID.validate("x.tmp-for-deletion")
        }
        for ok in ["tmp", "team.tmpl", "a-tmp", "x.tmp.y", "tmp-a"] { try TenantID.validate(ok) }
    }

    /// A tenant whose database does not open leaves the others serving; it is
    /// answered unavailable (without a retry inside the interval) and opens
    /// once the fault is gone.
    @Test(arguments: [0.0, 3600.0])
    func aTenantThatFailsToOpenDoesNotStopTheOthers(retryInterval: TimeInterval) throws {
        let data = try TestPaths.temporaryDirectory("dbs-broken").path
        let options = DatabaseOptions(wal: WALOptions(fsync: .never))
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let before = try Databases(dataDirectory: data, options: options)
        for tenant in ["good", "bad"] { try push(try before.database(for: tenant), series("up"), [(now, 1)]) }
        try before.close()
        // A file where the WAL directory belongs: the open fails on it.
        let wal = data + "/tsdb/bad/wal"
        try FileManager.default.moveItem(atPath: wal, toPath: data + "/bad-wal")
        _ = FileManager.default.createFile(atPath: wal, contents: Data("not a directory".utf8))

        let dbs = try Databases(dataDirectory: data, options: options, openRetryInterval: retryInterval)
        #expect(dbs.tenants == ["good"])
        #expect(dbs.unavailableTenants == ["bad"])
        #expect(dbs.openFailures == 1)
        #expect(dbs.existing("good")?.head.seriesCount == 1)
        #expect(throws: TenantUnavailableError(tenant: "bad")) { try dbs.database(for: "bad") }
        #expect(throws: TenantUnavailableError(tenant: "bad")) { try dbs.readable("bad") }
        #expect(dbs.openFailures == (retryInterval == 0 ? 3 : 1), "each request retries only after the interval")
        #expect(try dbs.readable("never-written") == nil)

        try FileManager.default.removeItem(atPath: wal)
        try FileManager.default.moveItem(atPath: data + "/bad-wal", toPath: wal)
        if retryInterval == 0 {
            #expect(try dbs.readable("bad")?.head.seriesCount == 1, "a later request opens it")
            #expect(dbs.unavailableTenants.isEmpty)
            #expect(dbs.tenants == ["bad", "good"])
        } else {
            #expect(throws: TenantUnavailableError(tenant: "bad")) { try dbs.database(for: "bad") }
        }
        try dbs.close()
    }
}
