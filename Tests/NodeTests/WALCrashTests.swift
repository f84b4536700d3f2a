import Foundation
import TestSupport
import Testing
@testable import Engine

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

                // Reopen the log the way the engine does (replay + repair).
                var batches: [UInt64: Int] = [:]
                var series = Set<UInt64>()
                let (wal, _) = try WAL.open(directory: dir, options: WALOptions(segmentSize: 8 * WAL.pageSize, fsync: .never)) { record in
                    switch record {
                    case .series(let entries): series.formUnion(entries.map(\.ref))
                    case .samples(let samples):
                        for s in samples {
                            #expect(s.value == Double(s.ref))
                            batches[s.ref, default: 0] += 1
                        }
                    default: break
                    }
                }
                try wal.close()
                for batch in 1...max(acknowledged, 1) where acknowledged > 0 {
                    #expect(batches[batch] == 50, "\(tag): acknowledged batch \(batch) has \(batches[batch] ?? 0) samples")
                    #expect(series.contains(batch), "\(tag)")
                }
                for (batch, count) in batches {
                    #expect(count == 50, "\(tag): batch \(batch) is half-present (\(count) samples)")
                }
            }
            #expect(acknowledged > 0, "the writer never acknowledged anything")
        }
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
func killMidFlight(_ process: ChildProcess, _ reader: AckReader, batches: ClosedRange<Int>, extraMicros: UInt32,
                   rng: inout SplitMix64, tag: String) -> UInt64 {
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
