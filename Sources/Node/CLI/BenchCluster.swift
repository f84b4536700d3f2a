import ArgumentParser
import Foundation

/// `muninn bench cluster`: real `muninn node` processes on loopback forming
/// a gossip ring. Measures how long N nodes take from launch until every
/// node lists every node ACTIVE, then, trial after trial, SIGTERMs one node
/// and measures how long until no remaining node lists it (leave
/// propagation), and restarts it with the same ID until all list it ACTIVE
/// again (rejoin). Benchmarks/cluster.sh builds release and runs it.
struct BenchCluster: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster", abstract: "Ring convergence, leave propagation and rejoin times of real node processes.")

    @Option(help: "Cluster sizes to measure, comma-separated.") var nodes = "3,6"
    @Option(help: "Leave trials per cluster size.") var leaves = 10
    @Option(help: "Heartbeat period given to the nodes.") var heartbeatPeriod = "5s"
    @Option(help: "Leave timeout given to the nodes.") var leaveTimeout = "5s"
    @Option(help: "Share of gossip messages each node drops (fault injection).") var dropRate = 0.0
    @Option(help: "The muninn executable to run as the nodes (default: this one).") var node: String?
    @Flag(help: "Keep the temporary directory (data and logs).") var keep = false

    struct Member {
        var id: String
        var http: UInt16
        var gossip: UInt16
        var dir: URL
        var process: Process?
        var client: BenchClient
    }

    func run() throws {
        let sizes = nodes.split(separator: ",").compactMap { Int($0) }
        guard !sizes.isEmpty, sizes.allSatisfy({ (2...20).contains($0) }), leaves >= 0 else {
            throw ValidationError("--nodes takes sizes of 2-20, --leaves a count")
        }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("muninn-benchcluster-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { if !keep { try? FileManager.default.removeItem(at: work) } }
        if keep { print("dir=\(work.path)") }
        print("nodes  converge_s  leaves  leave_p50_ms  leave_p90_ms  leave_max_ms  exit_p50_ms  rejoin_p50_ms  stuck")
        for size in sizes {
            try measure(size: size, work: work.appendingPathComponent("n\(size)"))
        }
    }

    private func measure(size: Int, work: URL) throws {
        var members = try (0..<size).map { i in
            let http = try BenchClient.freePort()
            return Member(
                id: "bench-\(i)", http: http, gossip: try BenchClient.freePort(), dir: work.appendingPathComponent("node-\(i)"),
                process: nil, client: BenchClient(port: http, timeoutSeconds: 10))
        }
        let seeds = members.map { "127.0.0.1:\($0.gossip)" }.joined(separator: ",")
        defer {
            for m in members where m.process?.isRunning == true {
                m.process?.terminate()
                m.process?.waitUntilExit()
            }
        }
        let launch = BenchFlush.Stopwatch()
        for i in members.indices { members[i].process = try start(members[i], seeds: seeds) }
        let all = Set(members.map(\.id))
        try waitUntil(timeout: 60, "ring of \(size) converged") { members.allSatisfy { ring(of: $0) == all } }
        let converge = launch.seconds

        var leaveTimes: [Double] = [], exitTimes: [Double] = [], rejoinTimes: [Double] = []
        var stuck = 0
        for trial in 0..<leaves {
            let i = trial % size
            let leaver = members[i]
            let clock = BenchFlush.Stopwatch()
            leaver.process?.terminate()
            let others = members.indices.filter { $0 != i }
            try waitUntil(timeout: 120, "\(leaver.id) dropped") {
                others.allSatisfy { ring(of: members[$0]).map { !$0.contains(leaver.id) } ?? false }
            }
            leaveTimes.append(clock.seconds * 1000)
            leaver.process?.waitUntilExit()
            exitTimes.append(clock.seconds * 1000)
            if leaver.process?.terminationStatus != 0 { throw CLIFailure("\(leaver.id) exited with \(leaver.process?.terminationStatus ?? -1)") }
            // Nothing else may have gone: no entry of a live node is missing.
            if others.contains(where: { ring(of: members[$0]) != all.subtracting([leaver.id]) }) { stuck += 1 }
            let back = BenchFlush.Stopwatch()
            members[i].process = try start(members[i], seeds: seeds)
            try waitUntil(timeout: 60, "\(leaver.id) back") { members.allSatisfy { ring(of: $0) == all } }
            rejoinTimes.append(back.seconds * 1000)
        }
        func pct(_ xs: [Double], _ p: Double) -> String {
            guard !xs.isEmpty else { return "-" }
            let sorted = xs.sorted()
            return String(format: "%.0f", sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p + 0.5))])
        }
        let row = [
            String(size), String(format: "%.2f", converge), String(leaves), pct(leaveTimes, 0.5), pct(leaveTimes, 0.9),
            pct(leaveTimes, 1), pct(exitTimes, 0.5), pct(rejoinTimes, 0.5), String(stuck)
        ]
        let widths = [5, 10, 6, 12, 12, 12, 11, 13, 5]
        print(zip(row, widths).map { String(repeating: " ", count: max(0, $1 - $0.count)) + $0 }.joined(separator: "  "))
    }

    /// The ACTIVE instance IDs `member` lists; nil when it does not answer.
    private func ring(of member: Member) -> Set<String>? {
        guard (try? member.client.send("GET", "/ingester/ring", headers: [("Accept", "application/json")])) == 200,
            let object = try? JSONSerialization.jsonObject(with: Data(member.client.lastBody)) as? [String: Any],
            let shards = object["shards"] as? [[String: Any]]
        else { return nil }
        return Set(shards.filter { $0["state"] as? String == "ACTIVE" }.compactMap { $0["id"] as? String })
    }

    private func start(_ m: Member, seeds: String) throws -> Process {
        try FileManager.default.createDirectory(at: m.dir, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: node ?? "/proc/self/exe")
        process.arguments = [
            "node", "--http-address", "127.0.0.1", "--http-port", String(m.http), "--data-dir", m.dir.appendingPathComponent("data").path,
            "--log-level", "warning", "--ring.store", "memberlist", "--instance-id", m.id, "--gossip-port", String(m.gossip),
            "--join", seeds, "--heartbeat-period", heartbeatPeriod, "--leave-timeout", leaveTimeout,
            "--test-drop-rate", String(dropRate)
        ]
        let logPath = m.dir.appendingPathComponent("node.log").path
        if !FileManager.default.fileExists(atPath: logPath) { FileManager.default.createFile(atPath: logPath, contents: nil) }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        return process
    }

    private func waitUntil(timeout: Double, _ what: String, _ condition: () -> Bool) throws {
        let clock = BenchFlush.Stopwatch()
        while clock.seconds < timeout {
            if condition() { return }
            Thread.sleep(forTimeInterval: 0.01)
        }
        throw CLIFailure("timed out waiting for: \(what)")
    }
}
