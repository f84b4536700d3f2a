import Foundation
import StorageTestSupport
import TestSupport
import Testing

@testable import Engine
@testable import Formats

/// Disk-full faults on a real filesystem (a small tmpfs): the tenant refuses
/// writes with a retryable error while the disk is full, takes them again by
/// itself once space returns, and a reopen replays exactly what was acknowledged.
@Suite(.serialized) struct StorageFaultTests {
    /// Small segments, so commits roll over to new segments while the disk is full too.
    static func open(_ dir: String, compression: WALCompression = .lz4) throws -> TenantDB {
        let options = DatabaseOptions(
            wal: WALOptions(segmentSize: 2 * WAL.pageSize, compression: compression, fsync: .always),
            limits: TenantLimits(outOfOrderWindow: 3_600_000))
        let db = try TenantDB.open(directory: dir, tenant: "t", options: options)
        db.clock = { t0 + 86_400_000 }
        return db
    }

    @Test(.enabled(if: SmallDisk.available, "mounting a tmpfs needs root"), arguments: [WALCompression.none, .lz4])
    func appendsAreRefusedWhileTheDiskIsFullAndResumeWhenSpaceReturns(compression: WALCompression) throws {
        let disk = try SmallDisk(bytes: 1 << 20)
        defer { disk.unmount() }
        let dir = disk.path + "/db"
        let db = try Self.open(dir, compression: compression)
        var acknowledged: [Labels: [Sample]] = [:]
        var attempt = 0
        // Random label values, so LZ4 cannot shrink the records below a segment's worth.
        var random = SplitMix64(seed: 11)
        // Each attempt: 20 new series and one more sample of a shared series, at
        // a later time than every earlier attempt.
        func append() throws {
            attempt += 1
            var batch = AppendBatch()
            var added: [(Labels, Sample)] = []
            let sample = Sample(timestamp: t0 + Int64(attempt) * 1000, value: Double(attempt))
            for i in 0..<20 {
                added.append(
                    (
                        series(
                            "m", ["attempt": "\(attempt)", "i": "\(i)", "pad": String(random.next(), radix: 36) + String(random.next(), radix: 36)]),
                        sample
                    ))
            }
            added.append((series("shared"), sample))
            for (labels, s) in added { batch.add(labels, [s]) }
            let outcome = try db.append(batch)
            #expect(outcome.accepted == added.count)
            for (labels, s) in added { acknowledged[labels, default: []].append(s) }
        }

        for _ in 0..<100 { try append() }
        disk.fill()
        var refusal: StorageFaultError?
        for _ in 0..<10_000 where refusal == nil {
            do { try append() } catch let fault as StorageFaultError { refusal = fault }
        }
        let fault = try #require(refusal)
        #expect(fault.code == ENOSPC)
        #expect(!fault.needsRestart)
        #expect(!fault.description.contains(disk.path), "the reason reaches clients: no absolute paths")
        #expect(db.storageFaults.failing)
        // Still full: refused again, and nothing of it becomes visible.
        #expect(throws: StorageFaultError.self) { try append() }
        #expect(try everything(db) == acknowledged)

        try disk.free()
        for _ in 0..<100 { try append() }
        #expect(!db.storageFaults.failing)
        #expect(db.storageFaults.failures >= 2)
        #expect(try everything(db) == acknowledged)
        #expect(try WALSegments.list(dir + "/wal").count > 1, "commits rolled over to new segments")
        try db.close()

        let reopened = try Self.open(dir, compression: compression)
        defer { try? reopened.close() }
        #expect(try everything(reopened) == acknowledged)
    }

    /// The WAL write is the commit point: when only the WBL write fails, the new
    /// series of that commit exist, so the next commit's new series get other refs
    /// and replay attaches every sample to its own series.
    @Test(.enabled(if: SmallDisk.available, "mounting a tmpfs needs root"))
    func aWBLFailureAfterTheWALWriteNeverReusesSeriesRefs() throws {
        let dir = Scratch.directory("wbl-fault").path + "/db"
        try FileManager.default.createDirectory(atPath: dir + "/wbl", withIntermediateDirectories: true)
        let disk = try SmallDisk(bytes: 256 << 10, at: dir + "/wbl")
        defer { disk.unmount() }
        let db = try Self.open(dir)
        let a = series("a"), b = series("b"), c = series("c")
        try push(db, a, [(t0 + 10_000, 1), (t0 + 20_000, 2)])
        disk.fill()

        // b is new and in order (WAL), a's sample is out of order (WBL, full).
        var mixed = AppendBatch()
        mixed.add(a, [Sample(timestamp: t0 + 15_000, value: 1.5)])
        mixed.add(b, [Sample(timestamp: t0 + 20_000, value: 20)])
        #expect(throws: StorageFaultError.self) { try db.append(mixed) }
        try push(db, c, [(t0 + 30_000, 30)])

        try disk.free()
        let retried = try db.append(mixed)
        #expect(retried.accepted == 1)
        #expect(retried.duplicatesIgnored == 1)
        let expected: [Labels: [Sample]] = [
            a: [
                Sample(timestamp: t0 + 10_000, value: 1), Sample(timestamp: t0 + 15_000, value: 1.5),
                Sample(timestamp: t0 + 20_000, value: 2)
            ],
            b: [Sample(timestamp: t0 + 20_000, value: 20)],
            c: [Sample(timestamp: t0 + 30_000, value: 30)]
        ]
        #expect(try everything(db) == expected)
        try db.close()

        let reopened = try Self.open(dir)
        defer { try? reopened.close() }
        #expect(try everything(reopened) == expected)
    }

    /// A failed fsync may have lost pages the kernel had accepted, so the log
    /// refuses writes (retryably) until it is reopened, even though writing
    /// works again; the reopen replays what was acknowledged. The fault is
    /// injected by swapping the open segment's descriptor for a pipe, on which
    /// the write succeeds and fdatasync fails.
    @Test func anFsyncFailureRefusesWritesUntilReopen() throws {
        let dir = Scratch.directory("fsync-fault").path
        let db = try Self.open(dir)
        let a = series("a"), b = series("b")
        try push(db, a, [(t0, 1)])

        let segment = dir + "/wal/" + WALSegments.name(db.wal.currentSegment)
        let fd = try #require(
            try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").compactMap(Int32.init)
                .first { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)")) == segment })
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        defer { close(ends[0]); close(ends[1]) }
        try #require(dup2(ends[1], fd) == fd)

        let fault = #expect(throws: StorageFaultError.self) { try push(db, a, [(t0 + 1000, 2)]) }
        #expect(fault?.needsRestart == true)
        #expect(fault?.operation == "fdatasync")
        #expect(throws: StorageFaultError.self) { try push(db, b, [(t0 + 2000, 3)]) }
        #expect(db.storageFaults.failing)
        #expect(throws: StorageFaultError.self) { try db.close() }

        let reopened = try Self.open(dir)
        defer { try? reopened.close() }
        #expect(try everything(reopened) == [a: [Sample(timestamp: t0, value: 1)]])
        try push(reopened, b, [(t0 + 2000, 3)])
        #expect(!reopened.storageFaults.failing)
    }
}
