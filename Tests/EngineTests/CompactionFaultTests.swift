import Foundation
import StorageTestSupport
import Testing

@testable import Engine
@testable import Formats

/// Block cuts over data no block can hold, and over a disk that fills up.
@Suite(.serialized) struct CompactionFaultTests {
    static let now = Int64(Date().timeIntervalSince1970 * 1000)

    func open(_ dir: String, limits: TenantLimits = TenantLimits()) throws -> TenantDB {
        try TenantDB.open(
            directory: dir, tenant: "t",
            options: DatabaseOptions(
                wal: WALOptions(segmentSize: 16 * WAL.pageSize, compression: .none, fsync: .never), limits: limits))
    }

    func stored(_ db: TenantDB) throws -> [Labels: [Sample]] {
        var out: [Labels: [Sample]] = [:]
        for s in try db.select(matchers: [try LabelMatcher(.regexMatch, "__name__", ".+")]) { out[s.labels] = try s.samples() }
        return out
    }

    /// -2^63, now and Int64.max: one series holding all three, one per end.
    static let extremes: [(Labels, [Int64])] = [
        (series("lowest"), [.min]), (series("mixed"), [.min, now, .max]), (series("highest"), [.max])
    ]
    static let survivor = [series("mixed"): [Sample(timestamp: now, value: 1)]]

    /// Appending refuses both ends even with the grace periods off: no block
    /// range could hold them.
    @Test func theEndsOfInt64AreRefusedWithTheGracePeriodsOff() throws {
        let db = try open(
            try TestPaths.temporaryDirectory("extreme-append").path,
            limits: TenantLimits(creationGracePeriod: 0, pastGracePeriod: 0))
        var batch = AppendBatch()
        for (labels, times) in Self.extremes { batch.add(labels, times.map { Sample(timestamp: $0, value: 1) }) }
        let outcome = try db.append(batch)
        #expect(outcome.accepted == 1)
        #expect(outcome.rejected == [.tooFarInPast: 2, .tooFarInFuture: 2])
        let range = db.head.storableTimeRange
        try db.close()
        // The storable ends themselves are taken into an empty head and cut.
        for (i, edge) in [range.lowerBound, range.upperBound].enumerated() {
            let fresh = try open(
                try TestPaths.temporaryDirectory("extreme-edge-\(i)").path,
                limits: TenantLimits(creationGracePeriod: 0, pastGracePeriod: 0))
            #expect(try push(fresh, series("edge"), [(edge, 1)]).accepted == 1)
            #expect(try fresh.flush().map(\.minTime) == [edge])
            try fresh.close()
        }
    }

    /// A head holding the ends of Int64 (put there directly: appends refuse
    /// them) is cut and flushed without trapping: the ranges that cannot be
    /// blocks are dropped with an error logged, the rest is written.
    @Test func cutsAndFlushesAHeadHoldingTheEndsOfInt64() throws {
        let dir = try TestPaths.temporaryDirectory("extreme-live").path
        let db = try open(dir)
        db.head.lock.lock()
        for (i, (labels, times)) in Self.extremes.enumerated() {
            let id = db.head.createSeries(ref: UInt64(i + 1), labels: labels)
            for t in times { db.head.appendInOrder(id, t, (1.0).bitPattern) }
        }
        db.head.lock.unlock()
        #expect(db.head.minTime == .min && db.head.maxTime == .max)
        let written = try db.compact()
        #expect(written.map(\.minTime) == [Self.now], "the range of now is a block; those of -2^63 and Int64.max cannot be")
        #expect(try db.flush().isEmpty, "only Int64.max was left, and no block holds it")
        #expect(try stored(db) == Self.survivor)
        try db.close()
    }

    /// A WAL an older version wrote with those timestamps replays (dropping what
    /// no block could hold), and its head compacts and flushes.
    @Test func replaysAndCompactsAWALHoldingTheEndsOfInt64() throws {
        let dir = try TestPaths.temporaryDirectory("extreme-wal").path
        let (wal, _) = try WAL.open(directory: dir + "/wal", options: WALOptions(compression: .none, fsync: .never))
        try wal.log(.series(Self.extremes.enumerated().map { WALSeries(ref: UInt64($0.offset + 1), labels: $0.element.0) }))
        for (i, (_, times)) in Self.extremes.enumerated() {
            try wal.log(.samples(times.map { WALSample(ref: UInt64(i + 1), timestamp: $0, value: 1) }))
        }
        try wal.close()

        let db = try open(dir)
        #expect(db.head.minTime == Self.now && db.head.maxTime == Self.now)
        #expect(try db.compact().isEmpty)
        let flushed = try db.flush()
        #expect(flushed.count == 1 && flushed.first?.stats.numSamples == 1)
        #expect(try stored(db) == Self.survivor)
        try db.close()
        let reopened = try open(dir)
        #expect(try stored(reopened) == Self.survivor)
        #expect(reopened.head.seriesCount == 0)
        try reopened.close()
    }

    /// A block write that fails on a full disk loses nothing: the data stays
    /// queryable and in the WAL, the next pass writes it once space is back, and
    /// only then is the WAL checkpointed.
    @Test(.enabled(if: getuid() == 0, "mounts a tmpfs"))
    func aFailedBlockWriteIsRetriedAndTheWALKeptUntilThen() throws {
        let mountPoint = try TestPaths.temporaryDirectory("full-disk").path
        _ = try run("/bin/mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", mountPoint])
        defer { _ = try? run("/bin/umount", [mountPoint]) }
        let dir = mountPoint + "/t"
        let base = Self.now / (2 * hour) * (2 * hour) - 8 * hour
        let db = try open(dir)
        var want: [Labels: [Sample]] = [:]
        var t = base
        while t < base + 8 * hour {
            var batch = AppendBatch()
            for i in 0..<10 {
                let sample = Sample(timestamp: t + Int64(i), value: Double(t / 15_000 % 977 + Int64(i)))
                batch.add(series("m", ["i": String(i)]), CollectionOfOne(sample))
                want[series("m", ["i": String(i)]), default: []].append(sample)
            }
            #expect(try db.append(batch).accepted == 10)
            t += 15_000
        }
        try db.wal.sync()
        let filler = mountPoint + "/filler"
        try fill(filler)

        #expect(throws: (any Error).self) { try db.compact() }
        #expect(db.blockMetas.isEmpty)
        #expect(try stored(db) == want, "the data of the failed block stays queryable")
        #expect(try WALSegments.checkpoints(dir + "/wal").isEmpty, "the WAL is not truncated past unwritten data")
        // A crash now recovers everything from the WAL.
        let copy = try TestPaths.temporaryDirectory("full-disk-copy").path + "/t"
        try FileManager.default.copyItem(atPath: dir, toPath: copy)
        let recovered = try open(copy)
        #expect(try stored(recovered) == want)
        try recovered.close()

        try Files.remove(filler)
        let written = try db.compact()
        #expect(
            written.map(\.minTime) == [base, base + 2 * hour, base + 4 * hour],
            "the failed range is written first, then the ranges due since")
        #expect(db.blockMetas.count == 3)
        #expect(try stored(db) == want)
        #expect(!(try WALSegments.checkpoints(dir + "/wal")).isEmpty, "with every block written the WAL is checkpointed")
        try db.close()
        let reopened = try open(dir)
        #expect(try stored(reopened) == want)
        try reopened.close()
    }

    /// Writes `path` until the filesystem has no room left.
    func fill(_ path: String) throws {
        let fd = try Files.create(path)
        defer { close(fd) }
        for size in [1 << 16, 1 << 12, 1 << 9] {
            let zeros = [UInt8](repeating: 0, count: size)
            while zeros.withUnsafeBytes({ write(fd, $0.baseAddress, size) }) == size {}
        }
    }
}
