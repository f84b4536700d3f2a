import ArgumentParser
import Cluster
import Foundation

/// `muninn bench gossip`: the gossip protocol (`GossipCore`, the code a node
/// runs) simulated in-process for clusters of several sizes, with virtual
/// time and no sockets (`GossipSimulation`). For each size: how many rounds a
/// heartbeat and a removal take to reach 50 %, 99 % and 100 % of members, then
/// the steady-state traffic per member with everyone heartbeating.
/// Benchmarks/gossip-sim.sh builds release and runs it.
struct BenchGossip: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gossip", abstract: "Simulated gossip convergence and traffic for clusters of several sizes.")

    @Option(help: "Cluster sizes, comma-separated.") var members = "100,1000,5000"
    @Option(help: "Percent of messages the network drops.") var loss = 0.0
    @Option(help: "Rounds between sending and delivery.") var latency = 1
    @Option var seed: UInt64 = 1
    @Option(help: "Rounds a convergence run may take before it is reported as incomplete.") var roundsLimit = 1000
    @Option var tokens = 128
    @Option var fanout = 3
    @Option var retransmitMultiplier = 4
    @Option var heartbeatSeconds = 15
    @Option(help: "Seconds between a member's full-state exchanges (push/pull).") var pushPullSeconds = 30
    @Option(help: "Virtual seconds of heartbeating before traffic is counted.") var warmupSeconds = 15.0
    @Option(help: "Virtual seconds of steady-state traffic counted.") var steadySeconds = 60.0

    func run() throws {
        let sizes = members.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !sizes.isEmpty, sizes.allSatisfy({ ($0 ?? 0) > 0 && ($0 ?? 0) <= 100_000 }) else {
            throw ValidationError("--members: comma-separated counts in 1...100000")
        }
        guard (0..<100).contains(loss) else { throw ValidationError("--loss: a percentage in 0 ..< 100") }
        guard (1...1000).contains(latency), roundsLimit > 0, (1...GossipCodec.maxTokensPerInstance).contains(tokens), fanout >= 0,
            (1...100).contains(retransmitMultiplier), (1...3600).contains(heartbeatSeconds), (1...86_400).contains(pushPullSeconds),
            warmupSeconds >= 0, steadySeconds > 0,
            warmupSeconds + steadySeconds <= 86_400
        else { throw ValidationError("--latency, --rounds-limit, --tokens, --fanout, --retransmit-multiplier or the seconds out of range") }

        var options = GossipSimulation.Options()
        options.lossRate = loss / 100
        options.latencyRounds = latency
        options.tokensPerMember = tokens
        options.gossip.fanout = fanout
        options.gossip.retransmitMultiplier = retransmitMultiplier
        options.gossip.pushPullIntervalMillis = Int64(pushPullSeconds) * 1000
        let interval = Double(options.gossip.intervalMillis) / 1000
        print(
            "gossip simulation: interval \(fmt(interval)) s, fanout \(fanout), retransmit \(retransmitMultiplier) x ceil(log10(N+1)),"
                + " push/pull every \(options.gossip.pushPullIntervalMillis / 1000) s, \(tokens) tokens per member,"
                + " loss \(loss) %, latency \(latency) round(s), seed \(seed)")
        var convergence: [[String]] = []
        var steady: [[String]] = []
        for n in sizes.compactMap({ $0 }) {
            options.members = n
            var rng = SplitMix(seed: seed)
            let clock = ContinuousClock()
            let t0 = clock.now
            var sim = GossipSimulation(options: options, using: &rng)
            let setup = clock.now - t0
            for (change, member) in [(GossipSimulation.Change.heartbeat, 0), (.removal, n / 2)] {
                let t = clock.now
                let c = sim.measureConvergence(change, member: member, roundsLimit: roundsLimit, using: &rng)
                let quiet = sim.settle(roundsLimit: roundsLimit, using: &rng)
                let wall = clock.now - t
                func at(_ r: Int?) -> [String] { r.map { [String($0), fmt(Double($0) * interval)] } ?? ["-", "-"] }
                convergence.append(
                    [String(n), change.rawValue] + at(c.rounds50) + at(c.rounds99) + at(c.rounds100)
                        + [
                            String(c.reached), String(c.traffic.messages - c.traffic.fullStateMessages),
                            String((c.traffic.bytes - c.traffic.fullStateBytes) / 1024), mb(c.traffic.fullStateBytes),
                            quiet.map { String((c.rounds100 ?? roundsLimit) + $0) } ?? "-", seconds(wall)
                        ])
            }
            let t = clock.now
            let s = sim.measureSteadyState(
                heartbeatMillis: Int64(heartbeatSeconds) * 1000, warmupSeconds: warmupSeconds, seconds: steadySeconds, using: &rng)
            let wall = clock.now - t
            let perMember = Double(n) * s.seconds
            steady.append([
                String(n), fmt(Double(s.traffic.messages) / perMember), String(Int(Double(s.traffic.bytes) / perMember)),
                String(Int(Double(s.traffic.fullStateBytes) / perMember)), String(s.traffic.largest), String(s.traffic.largestDelta),
                String(s.maxQueued), String(s.maxMembers), seconds(setup), seconds(wall)
            ])
        }
        print(
            "\nconvergence of one change (rounds and virtual seconds until 50 %, 99 %, 100 % of members hold it;"
                + " traffic until 100 %, gossip and push/pull apart; quiet_r: rounds until no member has anything left to send):")
        printTable(
            [
                "members", "change", "r50", "t50_s", "r99", "t99_s", "r100", "t100_s", "reached", "delta_msgs", "delta_KB", "pushpull_MB", "quiet_r",
                "wall_s"
            ], convergence)
        print("\nsteady state, every member heartbeating every \(heartbeatSeconds) s, over \(fmt(steadySeconds)) virtual s:")
        printTable(
            [
                "members", "msgs/member/s", "bytes/member/s", "pushpull_bytes/member/s", "largest_B", "largest_delta_B", "max_queue",
                "max_members", "setup_s", "wall_s"
            ], steady)
    }

    private func mb(_ bytes: Int) -> String { String(format: "%.1f", Double(bytes) / 1_048_576) }

    private func seconds(_ d: Duration) -> String {
        String(format: "%.1f", Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
    }

    private func printTable(_ header: [String], _ rows: [[String]]) {
        let widths = header.indices.map { c in ([header[c]] + rows.map { $0[c] }).map(\.count).max() ?? 0 }
        for row in [header] + rows {
            print(row.indices.map { String(repeating: " ", count: widths[$0] - row[$0].count) + row[$0] }.joined(separator: "  "))
        }
    }
}
