import Foundation
import StorageTestSupport
import TestSupport
import Testing

@testable import Engine
@testable import Formats

/// Small segments (4 pages) so tests cross segment boundaries quickly.
let smallSegments = 4 * WAL.pageSize

func replayAll(_ dir: String, options: WALOptions = WALOptions(segmentSize: smallSegments))
    throws -> (records: [WALRecord], report: WALReplayReport, wal: WAL)
{
    var records: [WALRecord] = []
    let (wal, report) = try WAL.open(directory: dir, options: options) { records.append($0) }
    return (records, report, wal)
}

func sampleRecords(count: Int, seed: UInt64) -> [WALRecord] {
    var rng = SplitMix64(seed: seed)
    var out: [WALRecord] = []
    for i in 0..<count {
        let ref = UInt64(i + 1)
        out.append(.series([WALSeries(ref: ref, labels: Labels(["__name__": "m", "i": String(i)]))]))
        var samples: [WALSample] = []
        for j in 0..<Int.random(in: 1...200, using: &rng) {
            let value: Double = j % 17 == 0 ? Double(bitPattern: Sample.staleNaNBits) : Double.random(in: -1e9...1e9, using: &rng)
            let t: Int64 = 1_700_000_000_000 + Int64(j) * 15_000 - Int64(i)
            samples.append(WALSample(ref: ref &+ UInt64(j % 3), timestamp: t, value: value))
        }
        out.append(.samples(samples))
        if i % 5 == 0 { out.append(.tombstones([WALTombstone(ref: ref, minTime: -5, maxTime: Int64(i))])) }
    }
    return out
}

@Suite struct WALRoundTripTests {
    @Test(arguments: [WALCompression.none, .lz4])
    func everyRecordTypeRoundTrips(compression: WALCompression) throws {
        let dir = try TestPaths.temporaryDirectory("wal").path
        let options = WALOptions(segmentSize: smallSegments, compression: compression, fsync: .never)
        let records =
            sampleRecords(count: 300, seed: 1) + [
                // Larger than a page, and larger than the space left in a segment.
                .series([WALSeries(ref: 9999, labels: Labels(["__name__": "big", "v": String(repeating: "é", count: 50_000)]))]),
                .samples((0..<9000).map { WALSample(ref: UInt64($0), timestamp: Int64($0), value: Double($0)) }),
                // Larger than a whole segment: it gets an oversized segment of its own.
                .series([WALSeries(ref: 10_000, labels: Labels(["__name__": "huge", "v": String(repeating: "z", count: 3 * smallSegments)]))]),
                .series([]), .samples([]), .tombstones([]),
                .other(type: 6, bytes: [6, 1, 2, 3])
            ]
        let (wal, report) = try WAL.open(directory: dir, options: options)
        #expect(report.records == 0)
        for batch in stride(from: 0, to: records.count, by: 7) {
            try wal.log(records[batch..<min(batch + 7, records.count)].map { $0.encoded() })
        }
        try wal.close()
        #expect(try WALSegments.list(dir).count > 3)

        let (replayed, replay, reopened) = try replayAll(dir, options: options)
        #expect(replay.corruption == nil)
        #expect(replayed == records)
        // The reopened log writes a new segment after the existing ones.
        #expect(reopened.currentSegment == (try WALSegments.list(dir).last!))
        try reopened.close()
    }

    @Test func lz4MakesSampleRecordsSmaller() throws {
        var sizes: [WALCompression: Int] = [:]
        for compression in [WALCompression.none, .lz4] {
            let dir = try TestPaths.temporaryDirectory("wal-size").path
            let (wal, _) = try WAL.open(directory: dir, options: WALOptions(compression: compression, fsync: .never))
            for record in sampleRecords(count: 200, seed: 3) { try wal.log(record) }
            try wal.close()
            sizes[compression] = try WALReader.readSegment(path: dir + "/00000000", segment: 0) { _, _ in }
        }
        #expect(sizes[.lz4]! < sizes[.none]!)
    }

    @Test func concurrentCommitsWithGroupFsyncAllSurvive() async throws {
        let dir = try TestPaths.temporaryDirectory("wal-group").path
        let (wal, _) = try WAL.open(directory: dir, options: WALOptions(segmentSize: smallSegments, fsync: .always))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<4 {
                group.addTask {
                    for i in 0..<100 {
                        try wal.log(.samples([WALSample(ref: UInt64(writer), timestamp: Int64(i), value: 1)]))
                    }
                }
            }
            try await group.waitForAll()
        }
        try wal.close()
        let (records, _, reopened) = try replayAll(dir)
        try reopened.close()
        var perWriter: [UInt64: [Int64]] = [:]
        for case .samples(let s) in records { for x in s { perWriter[x.ref, default: []].append(x.timestamp) } }
        #expect(perWriter.count == 4)
        for (_, ts) in perWriter { #expect(ts == Array(0..<100)) }
    }

    /// `durable` suspends its task while the WAL's own thread runs the fsync;
    /// every write a waiter was told is durable is replayed.
    @Test func suspendedWaitersAreResumedByTheSyncThread() async throws {
        let dir = try TestPaths.temporaryDirectory("wal-async").path
        let (wal, _) = try WAL.open(directory: dir, options: WALOptions(segmentSize: smallSegments, fsync: .always))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<4 {
                group.addTask {
                    for i in 0..<100 {
                        let position = try wal.write([WALRecord.samples([WALSample(ref: UInt64(writer), timestamp: Int64(i), value: 1)]).encoded()])
                        try await wal.durable(position)
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(wal.stats.fsyncs > 0)
        try wal.close()
        await #expect(throws: WALClosedError.self) { try await wal.durable(UInt64.max) }
        let (records, _, reopened) = try replayAll(dir)
        try reopened.close()
        var perWriter: [UInt64: [Int64]] = [:]
        for case .samples(let s) in records { for x in s { perWriter[x.ref, default: []].append(x.timestamp) } }
        #expect(perWriter.count == 4)
        for (_, ts) in perWriter { #expect(ts == Array(0..<100)) }
    }

    @Test func loggingAfterCloseThrows() throws {
        let dir = try TestPaths.temporaryDirectory("wal-closed").path
        let (wal, _) = try WAL.open(directory: dir)
        try wal.close()
        #expect(throws: WALClosedError.self) { try wal.log(.samples([])) }
    }
}

@Suite struct WALCheckpointTests {
    @Test func checkpointKeepsLiveSeriesAndRecentSamplesOnly() throws {
        let dir = try TestPaths.temporaryDirectory("wal-ckpt").path
        let options = WALOptions(segmentSize: smallSegments, fsync: .never)
        let (wal, _) = try WAL.open(directory: dir, options: options)
        for ref in UInt64(1)...20 {
            try wal.log(.series([WALSeries(ref: ref, labels: Labels(["__name__": "s", "r": String(ref)]))]))
        }
        for t in Int64(0)..<2000 {
            try wal.log(.samples((1...20).map { WALSample(ref: $0, timestamp: t, value: Double(t)) }))
        }
        let last = try wal.cutSegment()
        try wal.log(.samples([WALSample(ref: 2, timestamp: 5000, value: 1)]))
        let stats = try WALCheckpoint.create(
            directory: dir, upTo: last, options: options,
            keep: { $0 % 2 == 0 }, minTime: 1500)
        #expect(stats.seriesKept == 10 && stats.seriesDropped == 10)
        #expect(stats.samplesKept == 500 * 10)
        try wal.close()

        #expect(try WALSegments.list(dir).allSatisfy { $0 > last })
        #expect(try WALSegments.checkpoints(dir).map(\.index) == [last])
        let (records, report, reopened) = try replayAll(dir, options: options)
        try reopened.close()
        #expect(report.checkpoint == last)
        var series = Set<UInt64>(), samples: [WALSample] = []
        for record in records {
            if case .series(let s) = record { series.formUnion(s.map(\.ref)) }
            if case .samples(let s) = record { samples += s }
        }
        #expect(series == Set(stride(from: 2, through: 20, by: 2).map(UInt64.init)))
        #expect(samples.count == 5001)
        #expect(samples.allSatisfy { $0.timestamp >= 1500 && $0.ref % 2 == 0 })
    }

    @Test func aLeftoverTemporaryCheckpointIsIgnoredAndRemoved() throws {
        let dir = try TestPaths.temporaryDirectory("wal-ckpt-tmp").path
        let (wal, _) = try WAL.open(directory: dir, options: WALOptions(fsync: .never))
        try wal.log(.series([WALSeries(ref: 1, labels: Labels(["__name__": "a"]))]))
        try wal.close()
        try Files.makeDirectory(dir + "/checkpoint.00000000.tmp")
        let (records, report, reopened) = try replayAll(dir)
        try reopened.close()
        #expect(report.checkpoint == nil)
        #expect(records.count == 1)
        #expect(!Files.exists(dir + "/checkpoint.00000000.tmp"))
    }
}
