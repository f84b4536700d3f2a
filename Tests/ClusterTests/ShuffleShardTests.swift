import TestSupport
import Testing

@testable import Cluster

@Suite struct ShuffleShardTests {
    /// Values computed outside Swift (Python's hashlib and a 10-line SplitMix64).
    @Test func seedsAndDraws() {
        #expect(ShuffleShard.seed(tenant: "tenant-1", zone: "") == 0xe000_342e_22c2_b525)
        #expect(ShuffleShard.seed(tenant: "tenant-1", zone: "zone-a") == 0xfd83_4bb4_07d5_b589)
        #expect(ShuffleShard.seed(tenant: "user-42", zone: "zone-b") == 0xc28b_bbc7_4ba3_2c99)
        var draws = ShuffleShard.Draws(seed: 0)
        #expect(draws.next() == 0xe220_a839)
    }

    /// Pins the whole algorithm: a tenant's shard must not move between
    /// versions (its series would land on new ingesters), so this ring's
    /// shards were computed by an independent Python version of it.
    @Test func goldenShards() {
        var entries: [InstanceDesc] = []
        for (k, zone) in ["z-a", "z-b", "z-c"].enumerated() {
            for n in 0..<4 {
                var rng = SplitMix64(seed: UInt64(k * 4 + n + 1))
                let tokens = (0..<8).map { _ in UInt32(truncatingIfNeeded: rng.next() >> 32) }
                entries.append(distEntry("\(zone)-\(n)", zone: zone, tokens: tokens.sorted()))
            }
        }
        let ring = RingSnapshot(RingDesc(entries))
        let golden: [(String, [String], [String], [String])] = [
            (
                "tenant-1", ["z-a-0", "z-b-0", "z-c-3"], ["z-a-0", "z-a-3", "z-b-0", "z-b-3", "z-c-2", "z-c-3"],
                ["z-b-3", "z-c-0", "z-c-1"]
            ),
            (
                "user-42", ["z-a-3", "z-b-1", "z-c-2"], ["z-a-1", "z-a-3", "z-b-0", "z-b-1", "z-c-2", "z-c-3"],
                ["z-a-1", "z-a-2", "z-b-1"]
            ),
            (
                "anonymous", ["z-a-0", "z-b-2", "z-c-2"], ["z-a-0", "z-a-2", "z-b-2", "z-b-3", "z-c-2", "z-c-3"],
                ["z-a-3", "z-b-2", "z-c-1"]
            )
        ]
        for (tenant, three, six, flat) in golden {
            #expect(distIDs(ring.shuffleShard(tenant: tenant, size: 3, zoneAware: true)) == Set(three), "\(tenant)")
            #expect(distIDs(ring.shuffleShard(tenant: tenant, size: 6, zoneAware: true)) == Set(six), "\(tenant)")
            #expect(distIDs(ring.shuffleShard(tenant: tenant, size: 3, zoneAware: false)) == Set(flat), "\(tenant)")
        }
    }

    @Test func sameRingSameShard() {
        let seed = TestSeed.make()
        var rng = SplitMix64(seed: seed)
        let entries = distRing(zones: ["a", "b", "c"], perZone: 5, rng: &rng)
        let one = RingSnapshot(RingDesc(entries))
        let other = RingSnapshot(RingDesc(entries.shuffled(using: &rng)))
        for t in 0..<200 {
            for zoneAware in [true, false] {
                let a = one.shuffleShard(tenant: "tenant-\(t)", size: 6, zoneAware: zoneAware)
                let b = other.shuffleShard(tenant: "tenant-\(t)", size: 6, zoneAware: zoneAware)
                #expect(distIDs(a) == distIDs(b), "seed \(seed)")
                #expect(a.tokens == b.tokens, "seed \(seed)")
            }
        }
    }

    @Test func sizesPerZone() {
        var rng = SplitMix64(seed: 7)
        let ring = RingSnapshot(RingDesc(distRing(zones: ["a", "b", "c"], perZone: 4, rng: &rng)))
        func perZone(_ shard: RingSnapshot) -> [String: Int] {
            Dictionary(grouping: shard.members, by: \.zone).mapValues(\.count)
        }
        #expect(perZone(ring.shuffleShard(tenant: "t", size: 3, zoneAware: true)) == ["a": 1, "b": 1, "c": 1])
        // ceil(4/3) = 2 per zone.
        #expect(perZone(ring.shuffleShard(tenant: "t", size: 4, zoneAware: true)) == ["a": 2, "b": 2, "c": 2])
        #expect(ring.shuffleShard(tenant: "t", size: 12, zoneAware: true).members.count == 12)
        #expect(ring.shuffleShard(tenant: "t", size: .max, zoneAware: true).members.count == 12)
        #expect(ring.shuffleShard(tenant: "t", size: 5, zoneAware: false).members.count == 5)
        #expect(ring.shuffleShard(tenant: "t", size: .max, zoneAware: false).members.count == 12)
        #expect(ring.shuffleShard(tenant: "t", size: 0, zoneAware: true).members.count == 12)
        let empty = RingSnapshot(RingDesc())
        #expect(empty.shuffleShard(tenant: "t", size: 3, zoneAware: true).members.isEmpty)
        #expect(empty.shuffleShard(tenant: "t", size: 3, zoneAware: false).members.isEmpty)
    }

    /// Every tenant's shard is balanced, and tenants are spread: every
    /// instance serves some tenant and shards differ.
    @Test func balancedAndShuffled() {
        let seed = TestSeed.make()
        var rng = SplitMix64(seed: seed)
        let ring = RingSnapshot(RingDesc(distRing(zones: ["a", "b", "c"], perZone: 5, rng: &rng)))
        var used: [String: Int] = [:]
        var distinct = Set<Set<String>>()
        for t in 0..<300 {
            let shard = ring.shuffleShard(tenant: "tenant-\(t)", size: 6, zoneAware: true)
            #expect(Dictionary(grouping: shard.members, by: \.zone).mapValues(\.count) == ["a": 2, "b": 2, "c": 2], "seed \(seed)")
            for m in shard.members { used[m.id, default: 0] += 1 }
            distinct.insert(distIDs(shard))
        }
        #expect(used.count == 15, "seed \(seed)")
        #expect(distinct.count > 100, "seed \(seed)")
    }

    /// Adding or removing one instance changes at most one member of any
    /// tenant's shard.
    @Test func oneInstanceChangesAtMostOneMember() {
        let seed = TestSeed.make()
        var rng = SplitMix64(seed: seed)
        for zoneAware in [true, false] {
            var entries = distRing(zones: ["a", "b", "c"], perZone: 6, rng: &rng)
            var taken = Set(entries.flatMap(\.tokens))
            let before = RingSnapshot(RingDesc(entries))
            let added = distEntry("b-new", zone: "b", tokens: distTokens(128, taken: &taken, rng: &rng))
            let grown = RingSnapshot(RingDesc(entries + [added]))
            entries.remove(at: Int(rng.next() % UInt64(entries.count)))
            let shrunk = RingSnapshot(RingDesc(entries))
            var changed = 0
            for _ in 0..<300 {
                let tenant = "tenant-\(rng.next())"
                let old = distIDs(before.shuffleShard(tenant: tenant, size: 6, zoneAware: zoneAware))
                for ring in [grown, shrunk] {
                    let new = distIDs(ring.shuffleShard(tenant: tenant, size: 6, zoneAware: zoneAware))
                    #expect(old.subtracting(new).count <= 1, "seed \(seed) \(tenant)")
                    #expect(new.subtracting(old).count <= 1, "seed \(seed) \(tenant)")
                    #expect(new.count == 6)
                    if new != old { changed += 1 }
                }
            }
            // The change is real for some tenants, or the test proves nothing.
            #expect(changed > 0, "seed \(seed)")
        }
    }

    /// The write shard passes over a read-only instance to the next one: the
    /// other members stay.
    @Test func readOnlyInstancesAreSkippedForWrites() {
        let seed = TestSeed.make()
        var rng = SplitMix64(seed: seed)
        var entries = distRing(zones: ["a", "b", "c"], perZone: 5, rng: &rng)
        let before = RingSnapshot(RingDesc(entries))
        entries[6].readOnly = true
        entries[6].readOnlyUpdatedTimestamp = distNow - 1000
        let flagged = entries[6].id
        let after = RingSnapshot(RingDesc(entries))
        var replaced = 0
        for t in 0..<300 {
            let old = distIDs(before.shuffleShard(tenant: "tenant-\(t)", size: 6, zoneAware: true))
            let new = distIDs(after.shuffleShard(tenant: "tenant-\(t)", size: 6, zoneAware: true))
            #expect(!new.contains(flagged), "seed \(seed)")
            #expect(new.count == 6, "seed \(seed)")
            if old.contains(flagged) {
                replaced += 1
                #expect(old.subtracting(new) == [flagged], "seed \(seed)")
            } else {
                #expect(old == new, "seed \(seed)")
            }
        }
        #expect(replaced > 0, "seed \(seed)")
        #expect(!distIDs(after.shuffleShard(tenant: "t", size: 0, zoneAware: true)).contains(flagged))
    }
}

@Suite struct ShuffleShardLookbackTests {
    let lookback: Int64 = 3_600_000

    func read(_ ring: RingSnapshot, _ tenant: String, size: Int = 6) -> Set<String> {
        distIDs(ring.shuffleShardWithLookback(tenant: tenant, size: size, zoneAware: true, now: distNow, lookbackMillis: lookback))
    }

    func write(_ ring: RingSnapshot, _ tenant: String) -> Set<String> {
        distIDs(ring.shuffleShard(tenant: tenant, size: 6, zoneAware: true))
    }

    /// A new instance took over part of some shards: reads still go to the
    /// instances it displaced, which hold the series written before it came.
    @Test func newInstancesAreAddedNotCounted() {
        let seed = TestSeed.make()
        var rng = SplitMix64(seed: seed)
        let entries = distRing(zones: ["a", "b", "c"], perZone: 5, rng: &rng)
        var taken = Set(entries.flatMap(\.tokens))
        let fresh = distEntry("a-new", zone: "a", tokens: distTokens(128, taken: &taken, rng: &rng), registered: distNow - 1000)
        let before = RingSnapshot(RingDesc(entries))
        let after = RingSnapshot(RingDesc(entries + [fresh]))
        var grew = 0
        for t in 0..<300 {
            let tenant = "tenant-\(t)"
            let reads = read(after, tenant)
            #expect(reads.isSuperset(of: write(before, tenant)), "seed \(seed)")
            #expect(reads.isSuperset(of: write(after, tenant)), "seed \(seed)")
            if write(after, tenant).contains("a-new") {
                grew += 1
                #expect(reads.count == 7, "seed \(seed)")
            } else {
                #expect(reads == write(after, tenant), "seed \(seed)")
            }
        }
        #expect(grew > 0, "seed \(seed)")
        // Outside the lookback the instance is an ordinary member.
        let old = RingSnapshot(RingDesc(entries + [distEntry("a-new", zone: "a", tokens: fresh.tokens)]))
        for t in 0..<50 { #expect(read(old, "tenant-\(t)") == write(old, "tenant-\(t)")) }
    }

    /// An instance that became read-only within the lookback still holds its
    /// series; the instance now written instead is read too.
    @Test func readOnlyFlipsWithinTheLookback() {
        let seed = TestSeed.make()
        var rng = SplitMix64(seed: seed)
        var entries = distRing(zones: ["a", "b", "c"], perZone: 5, rng: &rng)
        let before = RingSnapshot(RingDesc(entries))
        entries[3].readOnly = true
        entries[3].readOnlyUpdatedTimestamp = distNow - 1000
        let flagged = entries[3].id
        let recent = RingSnapshot(RingDesc(entries))
        entries[3].readOnlyUpdatedTimestamp = 0
        let unknown = RingSnapshot(RingDesc(entries))
        entries[3].readOnlyUpdatedTimestamp = distNow - lookback - 1
        let long = RingSnapshot(RingDesc(entries))
        var affected = 0
        for t in 0..<300 {
            let tenant = "tenant-\(t)"
            let old = write(before, tenant)
            for ring in [recent, unknown] {
                let reads = read(ring, tenant)
                #expect(reads.isSuperset(of: old.union(write(ring, tenant))), "seed \(seed)")
            }
            // Flipped before the lookback: its data is elsewhere by now.
            #expect(!read(long, tenant).contains(flagged), "seed \(seed)")
            #expect(read(long, tenant) == write(long, tenant), "seed \(seed)")
            if old.contains(flagged) { affected += 1 }
        }
        #expect(affected > 0, "seed \(seed)")
        // Back to writable within the lookback: the instance that took its
        // place meanwhile is read too.
        entries[3].readOnly = false
        entries[3].readOnlyUpdatedTimestamp = distNow - 1000
        let back = RingSnapshot(RingDesc(entries))
        for t in 0..<300 {
            let tenant = "tenant-\(t)"
            #expect(read(back, tenant).isSuperset(of: write(long, tenant).union(write(back, tenant))), "seed \(seed)")
        }
        // Without sharding, reads filter read-only instances the same way.
        #expect(read(recent, "t", size: 0).contains(flagged))
        #expect(!read(long, "t", size: 0).contains(flagged))
    }

    @Test func everyoneNewMeansEveryone() {
        var rng = SplitMix64(seed: 11)
        var entries = distRing(zones: ["a", "b", "c"], perZone: 4, rng: &rng)
        for i in entries.indices { entries[i].registeredTimestamp = distNow - 1000 }
        let ring = RingSnapshot(RingDesc(entries))
        #expect(read(ring, "t", size: 3).count == 12)
        #expect(write(ring, "t").count == 6)
        let noLookback = ring.shuffleShardWithLookback(tenant: "t", size: 6, zoneAware: true, now: distNow, lookbackMillis: 0)
        #expect(distIDs(noLookback) == write(ring, "t"))
    }
}
