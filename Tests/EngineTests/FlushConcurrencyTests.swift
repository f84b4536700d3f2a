import Foundation
import StorageTestSupport
import TestSupport
import Testing

@testable import Engine
@testable import Formats

/// A flush takes the head in batches and lets appends in between: nothing
/// acknowledged meanwhile may be lost, or land both in a block and the head.
@Suite(.serialized) struct FlushConcurrencyTests {
    static let base: Int64 = 1_700_000_000_000 / 7_200_000 * 7_200_000
    /// Enough series for several batches of the take.
    static let seriesCount = 2 * Head.takeBatch + 3_000

    func open(_ dir: String) throws -> TenantDB {
        try TenantDB.open(
            directory: dir, tenant: "t",
            options: DatabaseOptions(
                wal: WALOptions(segmentSize: 64 * WAL.pageSize, compression: .none, fsync: .never),
                limits: TenantLimits(creationGracePeriod: 0, pastGracePeriod: 0)))
    }

    /// Samples the writer thread had acknowledged, and whether it should stop.
    final class Writer: @unchecked Sendable {
        let lock = NSLock()
        var acknowledged: [Labels: [Sample]] = [:]
        var batches = 0
        var failure: String?
        var stop = false
        var done = false

        func run(_ db: TenantDB) {
            var k: Int64 = 0
            // Bounded so a stuck flush fails the test instead of hanging it.
            while k < 6_000 {
                lock.lock(); let stopping = stop; lock.unlock()
                if stopping { break }
                // Series across the whole head (taken and not yet taken), plus a new one.
                let t = FlushConcurrencyTests.base + 60_000 + k * 1_000
                var batch = AppendBatch()
                var sent: [(Labels, Sample)] = []
                for j in 0..<200 {
                    let i = (Int(k) * 7_919 + j * 131) % FlushConcurrencyTests.seriesCount
                    sent.append((series("m", ["i": String(i)]), Sample(timestamp: t, value: Double(k))))
                }
                sent.append((series("m", ["new": String(k)]), Sample(timestamp: t, value: -1)))
                for (labels, sample) in sent { batch.add(labels, CollectionOfOne(sample)) }
                do {
                    let outcome = try db.append(batch)
                    lock.lock()
                    if outcome.accepted != sent.count {
                        failure =
                            failure ?? "batch \(k): \(outcome.accepted) of \(sent.count) accepted: \(String(describing: outcome.firstRejection))"
                    }
                    for (labels, sample) in sent { acknowledged[labels, default: []].append(sample) }
                    batches += 1
                    lock.unlock()
                } catch {
                    lock.lock(); failure = failure ?? "append: \(error)"; lock.unlock()
                }
                k += 1
            }
            lock.lock(); done = true; lock.unlock()
        }

        func read<T>(_ body: (Writer) -> T) -> T {
            lock.lock(); defer { lock.unlock() }
            return body(self)
        }
    }

    /// Every sample of blocks and head, per series, as stored (a sample in
    /// both places appears twice).
    func stored(_ db: TenantDB) throws -> [Labels: [Sample]] {
        let matchers = [try LabelMatcher(.equal, "__name__", "m")]
        var out: [Labels: [Sample]] = [:]
        for meta in db.blockMetas {
            let block = try BlockReader(directory: db.directory + "/" + meta.ulid.description)
            for s in try block.select(mint: .min, maxt: .max, matchers: matchers) { out[s.labels, default: []] += try s.samples() }
        }
        for s in db.head.select(matchers: matchers) { out[s.labels, default: []] += try s.samples() }
        return out.mapValues { $0.sorted { $0.timestamp < $1.timestamp } }
    }

    @Test func samplesAppendedDuringAFlushAreKeptOnceAndSurviveReopen() throws {
        let dir = try TestPaths.temporaryDirectory("flush-concurrent").path
        let db = try open(dir)
        var want: [Labels: [Sample]] = [:]
        for step in 0..<3 {
            var batch = AppendBatch()
            let t = Self.base + Int64(step) * 15_000
            for i in 0..<Self.seriesCount {
                let labels = series("m", ["i": String(i)])
                let sample = Sample(timestamp: t, value: Double(i))
                batch.add(labels, CollectionOfOne(sample))
                want[labels, default: []].append(sample)
            }
            #expect(try db.append(batch).accepted == Self.seriesCount)
        }

        let writer = Writer()
        Thread { writer.run(db) }.start()
        // The flush starts once appends are flowing.
        while writer.read({ $0.batches == 0 && !$0.done }) { Thread.sleep(forTimeInterval: 0.001) }
        let blocks = try db.flush()
        writer.read { $0.stop = true }
        while !writer.read({ $0.done }) { Thread.sleep(forTimeInterval: 0.001) }
        #expect(writer.read { $0.failure } == nil)
        #expect(!blocks.isEmpty)
        for (labels, samples) in writer.read({ $0.acknowledged }) { want[labels, default: []] += samples }
        want = want.mapValues { $0.sorted { $0.timestamp < $1.timestamp } }

        #expect(try stored(db) == want, "every acknowledged sample is in exactly one of blocks and head")
        try db.close()
        let reopened = try open(dir)
        #expect(try stored(reopened) == want, "the WAL kept what no block holds, and only that")
        try reopened.close()
    }
}
