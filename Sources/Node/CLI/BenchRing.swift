import ArgumentParser
import Cluster
import Foundation

/// `muninn bench ring-tokens`: how evenly random and spread-minimizing tokens
/// split the ring (issue 13's figure). For each layout it prints the largest
/// and smallest share an instance owns and their ratio, one `key=value` line
/// per strategy (and per seed for random tokens).
struct BenchRingTokens: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ring-tokens", abstract: "Compare the ownership spread of random and spread-minimizing tokens.")

    @Option var instancesPerZone = 10
    @Option(help: "1...8 zones, named zone-a, zone-b, ….") var zones = 3
    @Option(help: "Tokens per instance.") var tokens = 128
    @Option(help: "Random-token rings to draw (seeds 1...N).") var seeds = 5

    func validate() throws {
        guard (1...SpreadMinimizingTokenGenerator.maxZones).contains(zones) else { throw ValidationError("--zones must be in 1...8") }
        guard (1...SpreadMinimizingTokenGenerator.maxInstanceIndex + 1).contains(instancesPerZone) else {
            throw ValidationError("--instances-per-zone must be in 1...\(SpreadMinimizingTokenGenerator.maxInstanceIndex + 1)")
        }
        guard (1...TokensFile.maxTokens).contains(tokens) else { throw ValidationError("--tokens must be in 1...\(TokensFile.maxTokens)") }
        guard (1...1000).contains(seeds) else { throw ValidationError("--seeds must be in 1...1000") }
    }

    func run() throws {
        let zoneNames = (0..<zones).map { "zone-" + String(UnicodeScalar(UInt8(ascii: "a") + UInt8($0))) }
        print("instances=\(zones * instancesPerZone) zones=\(zones) tokens_per_instance=\(tokens)")
        // zone-aware: every series has one replica per zone, so what matters
        // is each instance's share of its own zone. no-zones: the zones'
        // spread-minimizing tokens in a ring used without zone awareness
        // (random tokens do not depend on zones: see one-zone). one-zone:
        // all instances in a single zone, the non-zone-aware setup.
        let layouts: [(name: String, zoneNames: [String], zoneAware: Bool, random: Bool)] = [
            ("zone-aware", zoneNames, true, true), ("no-zones", zoneNames, false, false), ("one-zone", ["zone-a"], false, true)
        ]
        for layout in layouts {
            let perZone = layout.zoneNames.count == 1 ? zones * instancesPerZone : instancesPerZone
            var ratios: [Double] = []
            for seed in 1...seeds where layout.random {
                var generator = SplitMix(seed: UInt64(seed))
                var taken = Set<UInt32>()
                let ring = try makeRing(zoneNames: layout.zoneNames, perZone: perZone) { _, _ in
                    let mine = try RandomTokenGenerator.generate(count: tokens, taken: taken, using: &generator)
                    taken.formUnion(mine)
                    return mine
                }
                ratios.append(report(ring, layout: layout.name, zoneAware: layout.zoneAware, strategy: "random seed=\(seed)"))
            }
            if layout.random {
                print(
                    "layout=\(layout.name) strategy=random seeds=\(seeds) mean_max_min_ratio=\(fmt(ratios.reduce(0, +) / Double(ratios.count))) worst_max_min_ratio=\(fmt(ratios.max()!))"
                )
            }
            let spread = try makeRing(zoneNames: layout.zoneNames, perZone: perZone) { id, zone in
                try SpreadMinimizingTokenGenerator(instanceID: id, zone: zone, zones: layout.zoneNames).generate(count: tokens)
            }
            _ = report(spread, layout: layout.name, zoneAware: layout.zoneAware, strategy: "spread-minimizing")
        }
    }

    private func makeRing(
        zoneNames: [String], perZone: Int, tokens generate: (_ id: String, _ zone: String) throws -> [UInt32]
    ) throws -> RingSnapshot {
        var entries: [InstanceDesc] = []
        for zone in zoneNames {
            for i in 0..<perZone {
                let id = "ingester-\(zone)-\(i)"
                entries.append(
                    InstanceDesc(id: id, addr: "", zone: zone, state: .active, tokens: try generate(id, zone), generation: 1, timestamp: 0))
            }
        }
        return RingSnapshot(RingDesc(entries))
    }

    /// Prints the spread of one ring and returns its max/min ratio.
    private func report(_ ring: RingSnapshot, layout: String, zoneAware: Bool, strategy: String) -> Double {
        let shares = ring.ownership(zoneAware: zoneAware).values
        let most = shares.max() ?? 0
        let least = shares.min() ?? 0
        let ratio = least > 0 ? most / least : .infinity
        let percent = { (share: Double) in String(format: "%.3f", share * 100) }
        print("layout=\(layout) strategy=\(strategy) max_min_ratio=\(fmt(ratio)) max_percent=\(percent(most)) min_percent=\(percent(least))")
        return ratio
    }
}
