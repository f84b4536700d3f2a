import ArgumentParser
import Formats
import Foundation

/// `muninn bench flush`: does a node keep answering pushes and `/ready` while
/// `POST /ingester/flush` writes a large head out? Starts a `muninn node` on a
/// free loopback port with a temporary data directory, loads N series, then
/// pushes to those series (500 samples a request, as Prometheus sends) from a
/// few connections and GETs `/ready` every 10 ms, first for a baseline and then
/// while the flush runs. Benchmarks/flush-latency.sh builds release and runs it.
struct BenchFlush: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flush", abstract: "Push and /ready latency of a node before and during a flush.")

    @Option(help: "File of label sets, one JSON object per line (promtool's format; the repository's testdata/series-20k.json is one).")
    var labels: String
    @Option var series = 1_000_000
    @Option(help: "Samples per series loaded before measuring.") var loadScrapes = 2
    @Option(help: "Samples per push request while measuring.") var samplesPerRequest = 500
    @Option(help: "Push connections while measuring (each owns a slice of the series).") var connections = 4
    @Option(help: "Seconds of baseline before the flush.") var baselineSeconds = 10.0
    @Option(help: "Milliseconds between /ready requests.") var readyIntervalMs = 10
    @Option(help: "The muninn executable to run as the node (another build, to compare); default this one.")
    var node: String?
    @Flag(help: "Keep the temporary directory (data and node.log).") var keep = false

    func run() throws {
        guard series > 0, loadScrapes > 0, samplesPerRequest > 0, connections > 0, readyIntervalMs > 0 else {
            throw ValidationError("counts must be positive")
        }
        var workload = try BenchHead.Workload.parse(["--labels", labels, "--series", String(series)])
        workload.series = series
        let sets = try workload.labelSets()
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("muninn-benchflush-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { if !keep { try? FileManager.default.removeItem(at: work) } }
        if keep { print("dir=\(work.path)") }
        let port = try BenchClient.freePort()
        let process = try startNode(port: port, dir: work)
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        try waitReady(port: port, process: process)

        // Connection c owns series c, c + connections, …, so each series' samples arrive in order.
        let slices = (0..<connections).map { c in Array(Swift.stride(from: c, to: sets.count, by: connections).map { sets[$0] }) }
        let clock = Stopwatch()
        let loadFailures = load(slices, port: port)
        let loadSeconds = clock.seconds
        guard loadFailures == 0 else { throw CLIFailure("loading: \(loadFailures) push requests failed (see \(work.path)/node.log)") }
        print("series=\(sets.count) loaded with \(loadScrapes) samples each in \(fmt(loadSeconds)) s")

        let pushes = Recorder(), readies = Recorder()
        let stop = StopFlag()
        let group = DispatchGroup()
        let t0 = Stopwatch()
        for slice in slices {
            let batches = Swift.stride(from: 0, to: slice.count, by: samplesPerRequest).map {
                Array(slice[$0..<min($0 + samplesPerRequest, slice.count)])
            }
            group.enter()
            Thread {
                Self.push(batches, port: port, into: pushes, clock: t0, until: stop); group.leave()
            }.start()
        }
        let interval = Double(readyIntervalMs) / 1000
        group.enter()
        Thread {
            Self.pollReady(port: port, every: interval, into: readies, clock: t0, until: stop); group.leave()
        }.start()

        Thread.sleep(forTimeInterval: baselineSeconds)
        let flushStart = t0.seconds
        let admin = BenchClient(port: port, timeoutSeconds: 3600)
        let flushStatus = try admin.send("POST", "/ingester/flush")
        let flushEnd = t0.seconds
        stop.set()
        group.wait()
        guard (200..<300).contains(flushStatus) else { throw CLIFailure("POST /ingester/flush answered \(flushStatus)") }

        print("flush_seconds=\(fmt(flushEnd - flushStart))")
        // A request belongs to the flush when it was in flight at any moment of it, so
        // one stalled through the whole flush counts there even though it ended after.
        for (name, lo, hi) in [("baseline", 0.0, flushStart), ("flush", flushStart, flushEnd)] {
            let p = pushes.window(lo, hi, baseline: name == "baseline")
            let r = readies.window(lo, hi, baseline: name == "baseline")
            print(
                "\(name): \(fmt(hi - lo)) s; push \(p.summary), \(Int(p.okSamplesCompleted(lo, hi) / max(hi - lo, 1e-9))) samples/s; "
                    + "/ready \(r.summary)")
        }
    }

    private func startNode(port: UInt16, dir: URL) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: node ?? "/proc/self/exe")
        process.arguments = [
            "node", "--http-address", "127.0.0.1", "--http-port", String(port),
            "--data-dir", dir.appendingPathComponent("data").path, "--wal-fsync", "1000", "--log-level", "warning"
        ]
        let logPath = dir.appendingPathComponent("node.log").path
        guard FileManager.default.createFile(atPath: logPath, contents: nil) else { throw CLIFailure("\(logPath): cannot create") }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = log
        process.standardError = log
        try process.run()
        return process
    }

    private func waitReady(port: UInt16, process: Process) throws {
        let client = BenchClient(port: port)
        for _ in 0..<600 {
            guard process.isRunning else { throw CLIFailure("the node exited with status \(process.terminationStatus)") }
            if (try? client.send("GET", "/ready")) == 200 { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw CLIFailure("the node was not ready within 60 s")
    }

    /// Sends every series `loadScrapes` samples, 2000 a request (Prometheus's
    /// largest); returns the number of failed requests.
    private func load(_ slices: [[Labels]], port: UInt16) -> Int {
        let start = Int64(Date().timeIntervalSince1970 * 1000) - Int64(loadScrapes) * 15_000
        let failures = Recorder()
        let group = DispatchGroup()
        for slice in slices {
            group.enter()
            let scrapes = loadScrapes
            Thread {
                let client = BenchClient(port: port)
                for scrape in 0..<scrapes {
                    let t = start + Int64(scrape) * 15_000
                    for lo in Swift.stride(from: 0, to: slice.count, by: 2000) {
                        let body = Self.encode(slice[lo..<min(lo + 2000, slice.count)], timestamp: t, value: Double(scrape))
                        let status = (try? client.send("POST", "/api/v1/push", headers: Self.pushHeaders, body: body)) ?? 0
                        if !(200..<300).contains(status) { failures.add(start: 0, end: 0, status: status, samples: 0) }
                    }
                }
                group.leave()
            }.start()
        }
        group.wait()
        return failures.count
    }

    static let pushHeaders = [
        ("Content-Type", "application/x-protobuf"), ("Content-Encoding", "snappy"),
        ("X-Prometheus-Remote-Write-Version", "0.1.0"), ("X-Scope-OrgID", "bench")
    ]

    static func encode(_ sets: ArraySlice<Labels>, timestamp: Int64, value: Double) -> [UInt8] {
        RemoteWrite.encode(
            RemoteWriteRequest(
                series: sets.map {
                    RemoteWriteSeries(labels: $0, samples: [Sample(timestamp: timestamp, value: value)])
                }))
    }

    /// Cycles through its batches with wall-clock timestamps, strictly
    /// increasing per connection and so per series.
    static func push(_ batches: [[Labels]], port: UInt16, into recorder: Recorder, clock: Stopwatch, until stop: StopFlag) {
        let client = BenchClient(port: port)
        var last: Int64 = 0, value = 0.0
        while true {
            for batch in batches {
                if stop.isSet { return }
                last = max(Int64(Date().timeIntervalSince1970 * 1000), last + 1)
                value += 1
                let body = encode(batch[...], timestamp: last, value: value)
                let start = clock.seconds
                let status = (try? client.send("POST", "/api/v1/push", headers: pushHeaders, body: body)) ?? 0
                recorder.add(start: start, end: clock.seconds, status: status, samples: batch.count)
            }
        }
    }

    static func pollReady(port: UInt16, every interval: Double, into recorder: Recorder, clock: Stopwatch, until stop: StopFlag) {
        let client = BenchClient(port: port)
        var next = clock.seconds
        while !stop.isSet {
            let start = clock.seconds
            let status = (try? client.send("GET", "/ready")) ?? 0
            recorder.add(start: start, end: clock.seconds, status: status, samples: 0)
            next += interval
            let wait = next - clock.seconds
            if wait > 0 { Thread.sleep(forTimeInterval: wait) } else { next = clock.seconds }
        }
    }

    /// Monotonic seconds since creation.
    struct Stopwatch: Sendable {
        let origin = DispatchTime.now().uptimeNanoseconds
        var seconds: Double { Double(DispatchTime.now().uptimeNanoseconds - origin) / 1e9 }
    }

    final class StopFlag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        func set() { lock.lock(); value = true; lock.unlock() }
        var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    }

    struct Request: Sendable {
        let start, end: Double; let status: Int; let samples: Int
        var ok: Bool { (200..<300).contains(status) }
    }

    final class Recorder: @unchecked Sendable {
        private let lock = NSLock()
        private var requests: [Request] = []
        func add(start: Double, end: Double, status: Int, samples: Int) {
            lock.lock(); requests.append(Request(start: start, end: end, status: status, samples: samples)); lock.unlock()
        }
        var count: Int { lock.lock(); defer { lock.unlock() }; return requests.count }

        /// The baseline holds requests that ended before `hi`; the flush those in flight at any moment of [lo, hi].
        func window(_ lo: Double, _ hi: Double, baseline: Bool) -> Window {
            lock.lock(); defer { lock.unlock() }
            return Window(requests: requests.filter { baseline ? $0.end < hi : $0.end >= lo && $0.start <= hi }, origin: lo)
        }
    }

    struct Window {
        let requests: [Request]
        /// The phase's start, for saying when its slowest request was sent.
        let origin: Double

        func okSamplesCompleted(_ lo: Double, _ hi: Double) -> Double {
            Double(requests.filter { $0.ok && $0.end >= lo && $0.end <= hi }.reduce(0) { $0 + $1.samples })
        }

        var summary: String {
            let ms = requests.map { ($0.end - $0.start) * 1000 }.sorted()
            let failed = requests.filter { !$0.ok }.count
            // 0: no answer (connection failed or timed out).
            let statuses = Dictionary(grouping: requests.filter { !$0.ok }, by: \.status).sorted { $0.key < $1.key }
                .map { " \($0.key)×\($0.value.count)" }.joined()
            guard !ms.isEmpty, let slowest = requests.max(by: { $0.end - $0.start < $1.end - $1.start }) else { return "no requests" }
            func q(_ p: Double) -> String { fmt(ms[max(0, Int((p * Double(ms.count)).rounded(.up)) - 1)]) }
            // When the slowest request was sent tells which part of a flush stalled it.
            return "p50 \(q(0.5)) p99 \(q(0.99)) max \(fmt(ms[ms.count - 1])) ms, sent at \(fmt(slowest.start - origin)) s "
                + "(\(ms.count) requests, \(failed) failed\(statuses))"
        }
    }
}
