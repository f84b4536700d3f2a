import TestSupport
import Testing

@testable import Cluster

/// The CRDT laws of `RingDesc.merge`, and what `collect` may not change,
/// over random rings. Every failure names its seed; `MUNINN_TEST_SEED=<n>`
/// replays it.
@Suite struct RingMergePropertyTests {
    static let cases = 3000

    /// Random rings over four ids, with values drawn from small ranges so
    /// that copies collide on generation, timestamp and every later field of
    /// the merge order.
    struct Gen {
        var rng: SplitMix64
        static let ids = ["a", "b", "c", "d"]

        mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &rng) }
        mutating func bool() -> Bool { Bool.random(using: &rng) }

        mutating func entry(id: String? = nil, generations: ClosedRange<UInt64> = 0...4) -> InstanceDesc {
            let states = InstanceState.allCases
            var tokens = Set<UInt32>()
            for _ in 0..<int(0...3) { tokens.insert(UInt32(int(0...5))) }
            return InstanceDesc(
                id: id ?? Self.ids[int(0...3)], addr: ["h:1", "h:2"][int(0...1)], zone: ["", "z"][int(0...1)],
                state: states[int(0...(states.count - 1))], tokens: tokens.sorted(),
                generation: UInt64.random(in: generations, using: &rng), timestamp: Int64(int(0...20)),
                registeredTimestamp: Int64(int(0...1)), readOnly: bool(), readOnlyUpdatedTimestamp: Int64(int(0...1)))
        }

        mutating func grave() -> (String, RingDesc.Grave) {
            (Self.ids[int(0...3)], RingDesc.Grave(generation: UInt64(int(0...4)), buriedAt: Int64(int(0...3))))
        }

        /// A ring a member can hold: built by merging entries and graves, with
        /// tombstones collected now and then.
        mutating func ring() -> RingDesc {
            var ring = RingDesc()
            for _ in 0..<int(0...8) {
                switch int(0...5) {
                case 0:
                    let (id, grave) = grave()
                    ring.merge(RingDesc(graves: [id: grave]))
                case 1:
                    ring.collect(now: Int64(int(0...30)), tombstoneMillis: Int64(int(0...10)), graveMillis: .max, maxGraves: .max)
                default:
                    ring.merge(RingDesc([entry()]))
                }
            }
            return ring
        }
    }

    /// Runs `body` `cases` times with generators derived from one seed.
    func forAll(_ property: String, _ body: (inout Gen, Comment) -> Void) {
        let seed = TestSeed.make()
        var seeds = SplitMix64(seed: seed)
        for i in 0..<Self.cases {
            var gen = Gen(rng: SplitMix64(seed: seeds.next()))
            body(&gen, "\(property), case \(i), MUNINN_TEST_SEED=\(seed)")
        }
    }

    func merged(_ a: RingDesc, _ b: RingDesc) -> RingDesc {
        var out = a
        out.merge(b)
        return out
    }

    @Test func mergeIsCommutative() {
        forAll("commutative") { gen, why in
            let a = gen.ring()
            let b = gen.ring()
            #expect(merged(a, b) == merged(b, a), why)
        }
    }

    @Test func mergeIsAssociative() {
        forAll("associative") { gen, why in
            let a = gen.ring()
            let b = gen.ring()
            let c = gen.ring()
            #expect(merged(merged(a, b), c) == merged(a, merged(b, c)), why)
        }
    }

    @Test func mergeIsIdempotent() {
        forAll("idempotent") { gen, why in
            var a = gen.ring()
            let copy = a
            #expect(a.merge(copy) == nil && a == copy, why)
            let b = gen.ring()
            a.merge(b)
            let ab = a
            #expect(a.merge(b) == nil && a == ab, why)
            #expect(a.merge(copy) == nil && a == ab, why)
        }
    }

    @Test func theDeltaIsWhatChanged() {
        forAll("delta") { gen, why in
            let a = gen.ring()
            let b = gen.ring()
            var ab = a
            let delta = ab.merge(b)
            #expect((delta == nil) == (ab == a), why)
            #expect(merged(a, delta ?? RingDesc()) == ab, why)
            // The delta is part of `b`: any state that already holds `b`
            // learns nothing from it.
            let holder = merged(gen.ring(), b)
            var target = holder
            #expect(target.merge(delta ?? RingDesc()) == nil && target == holder, why)
            var fromB = b
            #expect(fromB.merge(delta ?? RingDesc()) == nil, why)
        }
    }

    @Test func collectChangesNoMembersNowOrAfterLaterMerges() {
        forAll("collect") { gen, why in
            var plain = gen.ring()
            var collected = plain
            let now = Int64(gen.int(0...30))
            collected.collect(now: now, tombstoneMillis: Int64(gen.int(0...10)), graveMillis: .max, maxGraves: .max)
            #expect(collected.members == plain.members, why)
            // Both replicas then receive the same arbitrary, possibly stale, copies.
            for _ in 0..<gen.int(1...4) {
                let incoming = gen.ring()
                plain.merge(incoming)
                collected.merge(incoming)
                #expect(collected.members == plain.members, why)
            }
        }
    }

    @Test func noResurrectionAfterARemoval() {
        forAll("no resurrection") { gen, why in
            var ring = gen.ring()
            // An entry at or above what the ring knows of "a" (above a grave,
            // which would bury it), the one the removal then applies to.
            let known = ring.highestGeneration(of: "a")
            let lowest = ring.instances["a"] == nil && ring.graves["a"] != nil ? known + 1 : known
            ring.merge(RingDesc([gen.entry(id: "a", generations: lowest...known + 1)]))
            guard let entry = ring.instances["a"] else {
                Issue.record("the entry just merged is missing; \(why)")
                return
            }
            var clock = entry.timestamp + Int64(gen.int(0...5))
            ring.merge(RingDesc([entry.tombstone(now: clock)]))
            let removed = entry.generation
            #expect(ring.member("a") == nil, why)
            for _ in 0..<gen.int(1...12) {
                switch gen.int(0...3) {
                case 0:
                    clock += Int64(gen.int(0...10))
                    ring.collect(now: clock, tombstoneMillis: Int64(gen.int(0...10)), graveMillis: .max, maxGraves: .max)
                case 1:
                    // A stale copy from a peer that missed the removal: any
                    // state, and heartbeats up to the end of time.
                    var stale = gen.entry(id: "a", generations: 0...removed)
                    stale.timestamp = [stale.timestamp, clock + 1, Int64.max][gen.int(0...2)]
                    ring.merge(RingDesc([stale]))
                default:
                    // A peer's whole ring, with every copy of "a" made stale.
                    var other = gen.ring()
                    other.instances["a"] = nil
                    let stale = gen.entry(id: "a", generations: 0...removed)
                    if other.highestGeneration(of: "a") < stale.generation { other.merge(RingDesc([stale])) }
                    ring.merge(other)
                }
                #expect(ring.member("a") == nil, why)
            }
        }
    }
}
