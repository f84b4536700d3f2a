import TestSupport
import Testing

@testable import Cluster

/// Heartbeat clock of the tests: entries are fresh at `now` unless made stale.
private let now: Int64 = 1_000_000
private let timeout: Int64 = 60_000

private func entry(
    _ id: String, zone: String = "", _ tokens: [UInt32], state: InstanceState = .active, stale: Bool = false,
    readOnly: Bool = false
) -> InstanceDesc {
    InstanceDesc(
        id: id, addr: "127.0.0.1:1", zone: zone, state: state, tokens: tokens, generation: 1,
        timestamp: stale ? now - timeout - 1 : now - 1000, readOnly: readOnly)
}

private func ids(_ instances: [InstanceDesc]) -> [String] { instances.map(\.id) }

@Suite struct RingLookupTests {
    @Test func theOwnerHoldsTheFirstTokenStrictlyGreater() {
        let ring = RingSnapshot(RingDesc([entry("a", [10]), entry("b", [20]), entry("c", [30])]))
        #expect(ring.tokens == [10, 20, 30])
        let owners: [(UInt32, String)] = [(0, "a"), (9, "a"), (10, "b"), (19, "b"), (20, "c"), (29, "c"), (30, "a"), (.max, "a")]
        for (hash, owner) in owners {
            #expect(ring.owner(ofHash: hash)?.id == owner, "hash \(hash)")
        }
    }

    @Test func tokensAtTheEndsOfTheSpace() {
        let ring = RingSnapshot(RingDesc([entry("top", [.max]), entry("zero", [0])]))
        #expect(ring.owner(ofHash: 0)?.id == "top")
        #expect(ring.owner(ofHash: .max - 1)?.id == "top")
        // Nothing is greater than the largest hash: it wraps to token 0.
        #expect(ring.owner(ofHash: .max)?.id == "zero")
        let shares = ring.ownership()
        #expect(shares["zero"] == 1.0 / 4_294_967_296.0)
        #expect(shares["top"] == 1 - 1.0 / 4_294_967_296.0)
    }

    @Test func anEmptyRingAnswersWithoutTrapping() {
        for ring in [RingSnapshot(RingDesc()), RingSnapshot(RingDesc([entry("p", [], state: .pending)]))] {
            #expect(ring.owner(ofHash: 7) == nil)
            let set = ring.replicationSet(
                forHash: 7, replicationFactor: 3, zoneAware: true, now: now, heartbeatTimeoutMillis: timeout, operation: .read)
            #expect(set.instances.isEmpty)
            #expect(set.quorum == 2)
            #expect(!set.hasQuorum)
            #expect(set.maxErrors == 0)
            #expect(ring.ownership().values.allSatisfy { $0 == 0 })
        }
    }

    @Test func leftEntriesAreNotMembers() {
        var desc = RingDesc([entry("a", [10]), entry("b", [20])])
        desc.instances["a"] = desc.instances["a"]!.tombstone(now: now)
        let ring = RingSnapshot(desc)
        #expect(ids(ring.members) == ["b"])
        #expect(ring.owner(ofHash: 5)?.id == "b")
        #expect(ring.health(of: "a", now: now, timeoutMillis: timeout) == nil)
    }
}

@Suite struct RingReplicationTests {
    func set(
        _ ring: RingSnapshot, _ hash: UInt32, rf: Int = 3, zoneAware: Bool = false, _ operation: RingOperation = .write
    ) -> ReplicationSet {
        ring.replicationSet(
            forHash: hash, replicationFactor: rf, zoneAware: zoneAware, now: now, heartbeatTimeoutMillis: timeout, operation: operation)
    }

    @Test func threeReplicasOnThreeInstances() {
        let ring = RingSnapshot(RingDesc([entry("a", [10, 40]), entry("b", [20, 50]), entry("c", [30, 60])]))
        #expect(ids(set(ring, 35).instances) == ["a", "b", "c"])
        let replicas = set(ring, 65)
        #expect(ids(replicas.instances) == ["a", "b", "c"])
        #expect(replicas.healthy.count == 3)
        #expect(replicas.quorum == 2)
        #expect(replicas.maxErrors == 1)
    }

    @Test func theWalkSkipsInstancesAlreadyChosen() {
        let ring = RingSnapshot(
            RingDesc([
                entry("i0", [100, 150]), entry("i1", [200, 250]), entry("i2", [300]), entry("i3", [400]), entry("i4", [500]),
                entry("i5", [600])
            ]))
        #expect(ids(set(ring, 99).instances) == ["i0", "i1", "i2"])
        #expect(ids(set(ring, 550).instances) == ["i5", "i0", "i1"])
        #expect(ids(set(ring, 600).instances) == ["i0", "i1", "i2"])
        #expect(ids(set(ring, 350, rf: 1).instances) == ["i3"])
        #expect(ids(set(ring, 350, rf: 5).instances) == ["i3", "i4", "i5", "i0", "i1"])
    }

    @Test func fewerInstancesThanTheReplicationFactor() {
        let ring = RingSnapshot(RingDesc([entry("a", [10]), entry("b", [20])]))
        let replicas = set(ring, 15)
        #expect(ids(replicas.instances) == ["b", "a"])
        #expect(replicas.quorum == 2)
        #expect(replicas.hasQuorum)
        #expect(replicas.maxErrors == 0)
        #expect(set(ring, 15, rf: 0).instances.isEmpty)
        #expect(set(ring, 15, rf: -1).instances.isEmpty)
        #expect(set(ring, 15, rf: .max).instances.count == 2)
        #expect(set(ring, 15, rf: .max).quorum == Int.max / 2 + 1)
    }

    @Test func zoneAwareTakesOneInstancePerZone() {
        let ring = RingSnapshot(
            RingDesc([
                entry("a1", zone: "a", [100]), entry("a2", zone: "a", [200]), entry("b1", zone: "b", [300]),
                entry("b2", zone: "b", [400]), entry("c1", zone: "c", [500]), entry("c2", zone: "c", [600])
            ]))
        #expect(ring.zones == ["a", "b", "c"])
        #expect(ids(set(ring, 50, zoneAware: true).instances) == ["a1", "b1", "c1"])
        #expect(ids(set(ring, 50).instances) == ["a1", "a2", "b1"])
        #expect(ids(set(ring, 450, zoneAware: true).instances) == ["c1", "a1", "b1"])
        #expect(ids(set(ring, 550, zoneAware: true).instances) == ["c2", "a1", "b1"])
        // More zones than replicas: the first `rf` zones on the walk.
        #expect(ids(set(ring, 50, rf: 2, zoneAware: true).instances) == ["a1", "b1"])
    }

    @Test func aWholeZoneMissing() {
        var entries: [InstanceDesc] = []
        for i in 0..<50 {
            entries.append(entry("a\(i)", zone: "a", [UInt32(i * 1000 + 1)]))
            entries.append(entry("b\(i)", zone: "b", [UInt32(i * 1000 + 2)]))
        }
        let ring = RingSnapshot(RingDesc(entries))
        let replicas = set(ring, 0, zoneAware: true)
        #expect(ids(replicas.instances) == ["a0", "b0"])
        #expect(replicas.quorum == 2)
        #expect(replicas.hasQuorum)
        #expect(replicas.maxErrors == 0)
    }

    @Test func readOnlyInstancesAreSkippedForWritesOnly() {
        let ring = RingSnapshot(
            RingDesc([entry("i0", [10]), entry("i1", [20], readOnly: true), entry("i2", [30]), entry("i3", [40])]))
        #expect(ids(set(ring, 5, .write).instances) == ["i0", "i2", "i3"])
        #expect(ids(set(ring, 5, .read).instances) == ["i0", "i1", "i2"])
        #expect(ids(set(ring, 5, .reporting).instances) == ["i0", "i1", "i2"])
        #expect(set(ring, 5, .read).healthy.count == 3)
    }

    @Test func aZoneOfReadOnlyInstancesGetsNoWrites() {
        let ring = RingSnapshot(
            RingDesc([
                entry("a1", zone: "a", [100]), entry("b1", zone: "b", [200]), entry("c1", zone: "c", [300], readOnly: true),
                entry("c2", zone: "c", [400], readOnly: true), entry("a2", zone: "a", [500])
            ]))
        // c2 and c1 are passed over; once both are examined zone c is done.
        #expect(ids(set(ring, 350, zoneAware: true, .write).instances) == ["a2", "b1"])
        #expect(ids(set(ring, 50, zoneAware: true, .write).instances) == ["a1", "b1"])
        #expect(ids(set(ring, 50, zoneAware: true, .read).instances) == ["a1", "b1", "c1"])
    }

    @Test func unhealthyReplicasCountButAreNotHealthy() {
        let ring = RingSnapshot(
            RingDesc([entry("i0", [10]), entry("i1", [20], stale: true), entry("i2", [30]), entry("i3", [40], stale: true)]))
        let one = set(ring, 5)
        #expect(ids(one.instances) == ["i0", "i1", "i2"])
        #expect(ids(one.healthy) == ["i0", "i2"])
        #expect(one.quorum == 2)
        #expect(one.hasQuorum)
        #expect(one.maxErrors == 0)
        let two = set(ring, 15)
        #expect(ids(two.instances) == ["i1", "i2", "i3"])
        #expect(ids(two.healthy) == ["i2"])
        #expect(!two.hasQuorum)
        #expect(two.maxErrors == 0)
    }

    @Test func statesAcceptedPerOperation() {
        let ring = RingSnapshot(
            RingDesc([
                entry("active", [10]), entry("joining", [20], state: .joining), entry("leaving", [30], state: .leaving),
                entry("pending", [40], state: .pending)
            ]))
        let expected: [(RingOperation, [String])] = [
            (.write, ["active"]), (.read, ["active", "leaving", "pending"]), (.reporting, ["active", "joining", "leaving", "pending"])
        ]
        for (operation, healthy) in expected {
            let replicas = set(ring, 5, rf: 4, operation)
            #expect(replicas.instances.count == 4)
            #expect(ids(replicas.healthy).sorted() == healthy, "\(operation)")
        }
    }

    /// Invariants on random rings: distinct replicas, the owner first, as many
    /// as the ring can give, one per zone when zone-aware.
    @Test func randomRingsKeepTheInvariants() throws {
        let seed = TestSeed.make()
        var rng = SplitMix64(seed: seed)
        for _ in 0..<20 {
            let zones = ["a", "b", "c"].prefix(Int.random(in: 1...3, using: &rng))
            var taken = Set<UInt32>()
            var entries: [InstanceDesc] = []
            for i in 0..<Int.random(in: 1...12, using: &rng) {
                let tokens = try RandomTokenGenerator.generate(count: 8, taken: taken, using: &rng)
                taken.formUnion(tokens)
                entries.append(entry("i\(i)", zone: zones.randomElement(using: &rng)!, tokens, readOnly: Int.random(in: 0..<5, using: &rng) == 0))
            }
            let ring = RingSnapshot(RingDesc(entries))
            let writable = entries.filter { !$0.readOnly }
            for _ in 0..<50 {
                let hash: UInt32 = rng.next()
                for zoneAware in [false, true] {
                    let replicas = set(ring, hash, zoneAware: zoneAware, .read)
                    #expect(Set(ids(replicas.instances)).count == replicas.instances.count, "seed \(seed)")
                    #expect(replicas.instances.first?.id == ring.owner(ofHash: hash)?.id, "seed \(seed)")
                    let zonesUsed = Set(entries.map(\.zone)).count
                    #expect(replicas.instances.count == (zoneAware ? min(3, zonesUsed) : min(3, entries.count)), "seed \(seed)")
                    if zoneAware { #expect(Set(replicas.instances.map(\.zone)).count == replicas.instances.count, "seed \(seed)") }
                    let writes = set(ring, hash, zoneAware: zoneAware, .write)
                    #expect(writes.instances.allSatisfy { !$0.readOnly }, "seed \(seed)")
                    let writableZones = Set(writable.map(\.zone)).count
                    #expect(writes.instances.count == (zoneAware ? min(3, writableZones) : min(3, writable.count)), "seed \(seed)")
                }
            }
        }
    }
}

@Suite struct RingConflictTests {
    @Test func theSmallerIDKeepsAContestedToken() {
        let ring = RingSnapshot(RingDesc([entry("b", [20, 30]), entry("a", [10, 20])]))
        #expect(ring.tokens == [10, 20, 30])
        #expect(ring.owner(ofHash: 15)?.id == "a")
        #expect(ring.conflictedTokens(of: "b") == [20])
        #expect(ring.conflictedTokens(of: "a") == [])
        #expect(ring.conflictedTokens(of: "nobody") == [])
    }

    @Test func aLeavingInstanceLosesItsTokens() {
        let ring = RingSnapshot(RingDesc([entry("a", [10, 20], state: .leaving), entry("b", [20, 30])]))
        #expect(ring.owner(ofHash: 15)?.id == "b")
        #expect(ring.conflictedTokens(of: "a") == [20])
        #expect(ring.conflictedTokens(of: "b") == [])
        let both = RingSnapshot(RingDesc([entry("a", [20], state: .leaving), entry("b", [20], state: .leaving)]))
        #expect(both.conflictedTokens(of: "b") == [20])
    }

    @Test func aTombstoneClaimsNothing() {
        var desc = RingDesc([entry("a", [20]), entry("b", [20])])
        desc.instances["a"] = InstanceDesc(id: "a", addr: "x", state: .left, tokens: [20], generation: 1, timestamp: now)
        let ring = RingSnapshot(desc)
        #expect(ring.conflictedTokens(of: "b") == [])
        #expect(ring.owner(ofHash: 0)?.id == "b")
    }

    @Test func duplicatesWithinOneEntryAreNotAConflict() {
        let ring = RingSnapshot(RingDesc([entry("a", [30, 10, 10])]))
        #expect(ring.tokens == [10, 30])
        #expect(ring.conflictedTokens(of: "a") == [])
    }

    @Test func ownershipCountsAContestedTokenOnce() {
        let ring = RingSnapshot(RingDesc([entry("a", [1 << 30, 1 << 31]), entry("b", [1 << 31, 3 << 30])]))
        let shares = ring.ownership()
        // 1<<31 is a's: a owns [3<<30, 1<<30) and [1<<30, 1<<31), b only [1<<31, 3<<30).
        #expect(shares["a"] == 0.75)
        #expect(shares["b"] == 0.25)
    }
}

@Suite struct RingOwnershipTests {
    @Test func sharesOfSimpleRings() {
        #expect(RingSnapshot(RingDesc([entry("solo", [12345])])).ownership() == ["solo": 1])
        let halves = RingSnapshot(RingDesc([entry("a", [0]), entry("b", [1 << 31])])).ownership()
        #expect(halves == ["a": 0.5, "b": 0.5])
        let quarter = RingSnapshot(RingDesc([entry("a", [1 << 30]), entry("b", [1 << 31]), entry("p", [], state: .pending)]))
        #expect(quarter.ownership() == ["a": 0.75, "b": 0.25, "p": 0])
    }

    @Test func sharesSumToOne() throws {
        let seed = TestSeed.make()
        var rng = SplitMix64(seed: seed)
        var taken = Set<UInt32>()
        var entries: [InstanceDesc] = []
        for i in 0..<30 {
            let tokens = try RandomTokenGenerator.generate(count: 128, taken: taken, using: &rng)
            taken.formUnion(tokens)
            entries.append(entry("i\(i)", zone: "z\(i % 3)", tokens))
        }
        let ring = RingSnapshot(RingDesc(entries))
        let total = ring.ownership().values.reduce(0, +)
        #expect(abs(total - 1) < 1e-9, "seed \(seed): \(total)")
        let perZone = Dictionary(grouping: ring.ownership(zoneAware: true), by: { ring.member($0.key)!.zone })
        #expect(perZone.count == 3)
        for (zone, shares) in perZone {
            let sum = shares.map(\.value).reduce(0, +)
            #expect(abs(sum - 1) < 1e-9, "seed \(seed), zone \(zone): \(sum)")
        }
    }
}

@Suite struct RingHealthTests {
    @Test func displayStates() {
        let ring = RingSnapshot(
            RingDesc([
                entry("a", [1]), entry("j", [2], state: .joining), entry("l", [3], state: .leaving), entry("p", [], state: .pending),
                entry("s", [4], state: .leaving, stale: true)
            ]))
        let states = ring.members.map { ring.health(of: $0.id, now: now, timeoutMillis: timeout) }
        #expect(states == [.active, .joining, .leaving, .pending, .unhealthy])
        #expect(ring.health(of: "nobody", now: now, timeoutMillis: timeout) == nil)
    }

    @Test func heartbeatAgeAtTheTimeoutAndAcrossOverflow() {
        var desc = entry("a", [1])
        desc.timestamp = now - timeout
        #expect(DisplayState(desc, now: now, heartbeatTimeoutMillis: timeout) == .active)
        desc.timestamp = now - timeout - 1
        #expect(DisplayState(desc, now: now, heartbeatTimeoutMillis: timeout) == .unhealthy)
        // A clock behind the writer's is not a stale heartbeat.
        desc.timestamp = now + 5000
        #expect(DisplayState(desc, now: now, heartbeatTimeoutMillis: timeout) == .active)
        desc.timestamp = .min
        #expect(DisplayState(desc, now: .max, heartbeatTimeoutMillis: timeout) == .unhealthy)
    }
}
