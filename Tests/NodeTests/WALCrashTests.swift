import Foundation
import TestSupport
import Testing

@testable import Engine
@testable import Formats

extension NodeProcessSuites {
    /// Kills a process that is appending acknowledged batches with SIGKILL at random
    /// moments and checks after every restart that each acknowledged batch is in the
    /// log and that no batch is half-present.
    @Suite struct WALCrashTests {
        @Test(arguments: ["interval", "always"])
        func acknowledgedBatchesSurviveSIGKILL(fsync: String) throws {
            let dir = Scratch.path("crash").path
            let seed = TestSeed.make()
            var rng = SplitMix64(seed: seed)
            var acknowledged: UInt64 = 0
            let rounds = 12
            for round in 0..<rounds {
                let tag = "seed \(seed), round \(round)"
                let process = try startMuninn(["wal", "crash-writer", dir, "--fsync", fsync])
                let reader = AckReader(process.stdout!)
                let lastAck = killMidFlight(process, reader, batches: 1...60, extraMicros: 2_000, rng: &rng, tag: tag)
                #expect(process.process.terminationReason == .uncaughtSignal, "\(tag)")
                acknowledged = max(acknowledged, lastAck)

                expectEveryBatch(dir, upTo: acknowledged, tag: tag)
            }
            #expect(acknowledged > 0, "the writer never acknowledged anything")
        }

        /// SIGKILL can stop the writer's `write(2)` at a 4 KiB page boundary, so
        /// the log can end in a prefix of its last, unacknowledged commit; replay
        /// keeps the whole records of it (the series record) and cuts the torn one.
        /// The next writer must write that batch again rather than skip its number:
        /// skipping left a batch below a later acknowledgement with no samples,
        /// which the test above reported as an acknowledged batch lost. Cuts the
        /// last commit inside its series record, between its records and inside
        /// its samples record, and runs a writer round on each.
        @Test func aTornLastCommitIsWrittenAgain() throws {
            let source = Scratch.path("torn").path
            let first = try startMuninn(["wal", "crash-writer", source, "--fsync", "never"])
            let firstAcks = AckReader(first.stdout!)
            #expect(firstAcks.waitForAcks(30), "the first writer acknowledged \(firstAcks.acks) of 30 batches")
            kill(first.process.processIdentifier, SIGKILL)
            first.process.waitUntilExit()
            _ = firstAcks.finish()
            try WALReplay.run(directory: source, repair: true) { _ in }

            // The last complete commit: series record M, then samples record M.
            var records: [(segment: Int, offset: Int, end: Int, record: WALRecord)] = []
            for segment in try WALSegments.list(source) {
                let path = source + "/" + WALSegments.name(segment)
                try WALReader.readSegment(path: path, segment: segment) { bytes, offset in
                    records.append((segment, offset, 0, try WALRecord.decode(bytes)))
                }
            }
            // Where each record ends in its file: the next record's start, or for the
            // last one in a segment, the segment's data end.
            for i in records.indices {
                let next = records.indices.contains(i + 1) && records[i + 1].segment == records[i].segment ? records[i + 1].offset : nil
                records[i].end =
                    try next
                    ?? WALReader.readSegment(
                        path: source + "/" + WALSegments.name(records[i].segment),
                        segment: records[i].segment
                    ) { _, _ in }
            }
            let last = try #require(records.lastIndex { if case .samples = $0.record { true } else { false } })
            guard case .samples(let samples) = records[last].record, case .series(let series) = records[last - 1].record else {
                Issue.record("the log does not end in a series record followed by a samples record"); return
            }
            let batch = try #require(samples.first?.ref)
            #expect(series.map(\.ref) == [batch])
            let (segment, seriesAt, samplesAt, end) = (records[last].segment, records[last - 1].offset, records[last].offset, records[last].end)
            #expect(records[last - 1].segment == segment)

            for cut in [seriesAt + 3, samplesAt, samplesAt + 5, (samplesAt + end) / 2, end - 1] {
                let tag = "batch \(batch) cut at \(cut) (series at \(seriesAt), samples at \(samplesAt)..<\(end))"
                let dir = Scratch.path("torn-copy").path
                try FileManager.default.copyItem(atPath: source, toPath: dir)
                for later in try WALSegments.list(dir) where later > segment {
                    try FileManager.default.removeItem(atPath: dir + "/" + WALSegments.name(later))
                }
                try Files.truncate(dir + "/" + WALSegments.name(segment), to: cut)
                let process = try startMuninn(["wal", "crash-writer", dir, "--fsync", "never"])
                let reader = AckReader(process.stdout!)
                #expect(reader.waitForAcks(3), "\(tag): the writer acknowledged \(reader.acks) of 3 batches")
                kill(process.process.processIdentifier, SIGKILL)
                process.process.waitUntilExit()
                let acknowledged = reader.finish()
                #expect(acknowledged >= batch + 2, "\(tag): last acknowledgement \(acknowledged)")
                expectEveryBatch(dir, upTo: acknowledged, tag: tag)
            }
        }
    }
}

/// Reopens the crash writer's log the way the engine does (replay + repair) and
/// checks that batches 1...`acknowledged` are there in full (series record and
/// all 50 samples) and that no batch has only part of its samples.
func expectEveryBatch(
    _ dir: String, upTo acknowledged: UInt64, tag: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    var batches: [UInt64: Int] = [:]
    var series = Set<UInt64>()
    do {
        let (wal, _) = try WAL.open(directory: dir, options: WALOptions(segmentSize: 8 * WAL.pageSize, fsync: .never)) { record in
            switch record {
            case .series(let entries): series.formUnion(entries.map(\.ref))
            case .samples(let samples):
                for s in samples {
                    #expect(s.value == Double(s.ref), sourceLocation: sourceLocation)
                    batches[s.ref, default: 0] += 1
                }
            default: break
            }
        }
        try wal.close()
    } catch {
        Issue.record("\(tag): reopening the log failed: \(error)", sourceLocation: sourceLocation)
        return
    }
    for batch in 1...max(acknowledged, 1) where acknowledged > 0 {
        #expect(
            batches[batch] == 50,
            "\(tag): acknowledged batch \(batch) has \(batches[batch] ?? 0) samples", sourceLocation: sourceLocation)
        #expect(series.contains(batch), "\(tag): acknowledged batch \(batch) has no series record", sourceLocation: sourceLocation)
    }
    for (batch, count) in batches {
        #expect(
            count == 50, "\(tag): batch \(batch) is half-present (\(count) samples)",
            sourceLocation: sourceLocation)
    }
}

/// Collects `ack N` lines from a child's stdout on a background thread.
final class AckReader: @unchecked Sendable {
    private let lock = NSLock()
    private var last: UInt64 = 0
    private var count = 0
    private var ended = false
    private let finished = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        let thread = Thread { [self] in
            var pending = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let nl = pending.firstIndex(of: 0x0A) {
                    let line = String(decoding: pending[pending.startIndex..<nl], as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...nl)
                    if line.hasPrefix("ack "), let n = UInt64(line.dropFirst(4)) {
                        lock.lock(); last = n; count += 1; lock.unlock()
                    }
                }
            }
            lock.lock(); ended = true; lock.unlock()
            finished.signal()
        }
        thread.start()
    }

    /// Acknowledgements read so far.
    var acks: Int { lock.lock(); defer { lock.unlock() }; return count }

    /// Polls until `n` acknowledgements arrived; false when the child ended
    /// (or `timeout` passed) first.
    func waitForAcks(_ n: Int, timeout: TimeInterval = 120) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            lock.lock(); let (seen, over) = (count, ended); lock.unlock()
            if seen >= n { return true }
            if over { return false }
            usleep(1_000)
        }
        return false
    }

    /// Waits for EOF (the child is dead) and returns the last acknowledged batch.
    func finish() -> UInt64 {
        finished.wait()
        lock.lock(); defer { lock.unlock() }
        return last
    }
}

func muninnBinary() -> URL {
    let bundleDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let binary = bundleDir.appendingPathComponent("muninn")
    if FileManager.default.fileExists(atPath: binary.path) { return binary }
    return bundleDir.deletingLastPathComponent().appendingPathComponent("muninn")
}

/// Kills a crash writer mid-flight with SIGKILL: after a random number of
/// acknowledged batches in `batches` (counted, not timed, so a loaded machine
/// kills at the same points) plus up to `extraMicros` µs of the next one.
/// Returns the last acknowledged batch.
func killMidFlight(
    _ process: ChildProcess, _ reader: AckReader, batches: ClosedRange<Int>, extraMicros: UInt32,
    rng: inout SplitMix64, tag: String
) -> UInt64 {
    let target = Int.random(in: batches, using: &rng)
    #expect(reader.waitForAcks(target), "\(tag): the writer acknowledged \(reader.acks) of \(target) batches")
    usleep(UInt32.random(in: 0..<extraMicros, using: &rng))
    kill(process.process.processIdentifier, SIGKILL)
    process.process.waitUntilExit()
    return reader.finish()
}

/// Starts a muninn crash writer, its stdout (the acknowledgements) in a pipe.
func startMuninn(_ arguments: [String]) throws -> ChildProcess {
    try Subprocess.start(muninnBinary().path, arguments, output: .pipe)
}
