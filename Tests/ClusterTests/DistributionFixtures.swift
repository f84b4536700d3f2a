import TestSupport

@testable import Cluster

/// Rings for the distribution tests. Heartbeats are fresh at `distNow` unless
/// an entry is made stale; registrations are a day old unless set.
let distNow: Int64 = 10_000_000_000
let distTimeout: Int64 = 60_000

func distEntry(
    _ id: String, zone: String = "", tokens: [UInt32], state: InstanceState = .active, stale: Bool = false,
    registered: Int64 = distNow - 86_400_000, readOnly: Bool = false, readOnlyUpdated: Int64 = 0
) -> InstanceDesc {
    InstanceDesc(
        id: id, addr: "127.0.0.1:1", zone: zone, state: state, tokens: tokens, generation: 1,
        timestamp: stale ? distNow - distTimeout - 1 : distNow - 1000, registeredTimestamp: registered,
        readOnly: readOnly, readOnlyUpdatedTimestamp: readOnlyUpdated)
}

/// Draws `count` tokens not in `taken`, adding them to it.
func distTokens(_ count: Int, taken: inout Set<UInt32>, rng: inout SplitMix64) -> [UInt32] {
    var tokens: [UInt32] = []
    while tokens.count < count {
        let t = UInt32(truncatingIfNeeded: rng.next())
        if taken.insert(t).inserted { tokens.append(t) }
    }
    return tokens.sorted()
}

/// `perZone` instances in each of `zones` (named `<zone>-<n>`, or `i-<n>`
/// for the zone ""), 128 random tokens each.
func distRing(zones: [String], perZone: Int, rng: inout SplitMix64) -> [InstanceDesc] {
    var taken = Set<UInt32>()
    var entries: [InstanceDesc] = []
    for zone in zones {
        for n in 0..<perZone {
            let id = zone.isEmpty ? "i-\(n)" : "\(zone)-\(n)"
            entries.append(distEntry(id, zone: zone, tokens: distTokens(128, taken: &taken, rng: &rng)))
        }
    }
    return entries
}

func distIDs(_ ring: RingSnapshot) -> Set<String> { Set(ring.members.map(\.id)) }
