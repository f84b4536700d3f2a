import ArgumentParser
import Cluster
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `muninn bench chaos`: a soak run with faults. It starts its own `muninn
/// node` (data on a tmpfs it mounts, so a full disk is a real ENOSPC), pushes
/// from a few writer threads, remembers every sample answered 204, and once
/// per trial SIGKILLs or SIGTERMs the node or fills its disk. After each fault
/// the node is back up and every sample acknowledged so far must come back
/// from remote read with its exact value. scripts/chaos.sh runs it.
struct BenchChaos: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chaos",
        abstract: "Push while the node is killed, stopped and its disk filled; count acknowledged samples lost.")

    @Option(help: "Seconds to run; the trial under way finishes first.") var duration = 300
    @Option(help: "Stop after this many trials (0: only --duration counts).") var trials = 0
    @Option(help: "Seed of the fault schedule (default: drawn and printed).") var seed: UInt64?
    @Option(help: "Writer threads; each owns its series and timestamps.") var writers = 4
    @Option(help: "Series per writer (every push carries one sample of each).") var series = 50
    @Option(help: "Size of the tmpfs holding the node's data, in MiB.") var diskMib = 256
    @Option(help: "The muninn binary to start (default: this one).") var binary: String?

    func validate() throws {
        guard duration > 0, trials >= 0, (1...64).contains(writers), (1...10_000).contains(series), (16...65_536).contains(diskMib) else {
            throw ValidationError("need --duration > 0, --trials >= 0, --writers 1...64, --series 1...10000, --disk-mib 16...65536")
        }
        guard getuid() == 0 else { throw ValidationError("bench chaos mounts a tmpfs: run it as root") }
    }

    func run() throws {
        let seed = self.seed ?? UInt64.random(in: 0...UInt64(UInt32.max))
        say("seed=\(seed) duration=\(duration) trials=\(trials) writers=\(writers) series=\(series) disk_mib=\(diskMib)")
        ChaosInterrupt.install()
        let run = try ChaosRun(binary: binary ?? Self.ownBinary(), diskMib: diskMib)
        defer { run.tearDown() }
        let outcome = try run.drive(seed: seed, duration: duration, maxTrials: trials, writers: writers, series: series)
        say(outcome.totals)
        if !outcome.passed { throw ExitCode(1) }
    }

    static func ownBinary() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}

/// SIGINT/SIGTERM end the run after the current step, so the tmpfs is still
/// unmounted and the node stopped. A handler (not SIG_IGN) so the node, which
/// is exec'd, gets default dispositions.
enum ChaosInterrupt {
    nonisolated(unsafe) static var raised: sig_atomic_t = 0

    static func install() {
        let handler: @convention(c) (Int32) -> Void = { _ in ChaosInterrupt.raised = 1 }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
    }

    static var requested: Bool { raised != 0 }
}

/// The fault schedule, reproducible from the printed seed.
struct ChaosRandom {
    var generator: SplitMix

    init(state: UInt64) { generator = SplitMix(seed: state) }

    /// Uniform in `range` (modulo bias is irrelevant at these sizes).
    mutating func pick(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(generator.next() % UInt64(range.count))
    }
}

/// A line straight to stdout: a soak run's progress must show as it happens,
/// also when stdout is a file or pipe (where `print` buffers).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
