import Foundation
import TestSupport
import Testing
@testable import Engine

/// Kills a process that is appending acknowledged batches with SIGKILL at random
/// moments and checks after every restart that each acknowledged batch is in the
/// log and that no batch is half-present.
@Suite(.serialized) struct WALCrashTests {
    @Test(arguments: ["interval", "always"])
    func acknowledgedBatchesSurviveSIGKILL(fsync: String) throws {
        let dir = Scratch.path("crash").path
        var rng = SystemRandomNumberGenerator()
        var acknowledged: UInt64 = 0
        let rounds = 12
        for round in 0..<rounds {
            let process = try startMuninn(["wal", "crash-writer", dir, "--fsync", fsync])
            let reader = AckReader(process.stdout)
            // Let it run for a random while; kill it mid-flight.
            let deadline = Date().addingTimeInterval(Double.random(in: 0.05...0.4, using: &rng))
            while Date() < deadline { usleep(5_000) }
            kill(process.process.processIdentifier, SIGKILL)
            process.process.waitUntilExit()
            let lastAck = reader.finish()
            #expect(process.process.terminationReason == .uncaughtSignal, "round \(round)")
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
                #expect(batches[batch] == 50, "round \(round): acknowledged batch \(batch) has \(batches[batch] ?? 0) samples")
                #expect(series.contains(batch))
            }
            for (batch, count) in batches {
                #expect(count == 50, "batch \(batch) is half-present (\(count) samples)")
            }
        }
        #expect(acknowledged > 0, "the writer never acknowledged anything")
    }
}

/// Collects `ack N` lines from a child's stdout on a background thread.
final class AckReader: @unchecked Sendable {
    private let lock = NSLock()
    private var last: UInt64 = 0
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
                        lock.lock(); last = n; lock.unlock()
                    }
                }
            }
            finished.signal()
        }
        thread.start()
    }

    /// Waits for EOF (the child is dead) and returns the last acknowledged batch.
    func finish() -> UInt64 {
        finished.wait()
        lock.lock(); defer { lock.unlock() }
        return last
    }
}

struct RunningMuninn {
    let process: Process
    let stdout: FileHandle
}

func muninnBinary() -> URL {
    let bundleDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let binary = bundleDir.appendingPathComponent("muninn")
    if FileManager.default.fileExists(atPath: binary.path) { return binary }
    return bundleDir.deletingLastPathComponent().appendingPathComponent("muninn")
}

func startMuninn(_ arguments: [String]) throws -> RunningMuninn {
    let process = Process()
    process.executableURL = muninnBinary()
    process.arguments = arguments
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    return RunningMuninn(process: process, stdout: out.fileHandleForReading)
}
