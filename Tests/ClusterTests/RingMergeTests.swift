import Testing

@testable import Cluster

@Suite struct RingMergeTests {
    func entry(_ id: String, gen: UInt64 = 1, ts: Int64, state: InstanceState = .active) -> InstanceDesc {
        InstanceDesc(id: id, addr: "127.0.0.1:1", state: state, tokens: [1, 2, 3], generation: gen, timestamp: ts)
    }

    @Test func newerHeartbeatWinsAndIsTheDelta() {
        var ring = RingDesc([entry("a", ts: 10)])
        let delta = ring.merge(RingDesc([entry("a", ts: 20)]))
        #expect(delta?.instances["a"]?.timestamp == 20)
        #expect(ring.merge(RingDesc([entry("a", ts: 15)])) == nil)
        #expect(ring.instances["a"]?.timestamp == 20)
    }

    @Test func aRemovalAtOneGenerationIsFinal() {
        var ring = RingDesc([entry("a", ts: 10)])
        ring.merge(RingDesc([entry("a", ts: 10).tombstone(now: 11)]))
        #expect(ring.member("a") == nil)
        // A heartbeat that was in flight, newer than the removal, does not undo it.
        #expect(ring.merge(RingDesc([entry("a", ts: 50)])) == nil)
        #expect(ring.member("a") == nil)
        // A new registration (higher generation) does.
        ring.merge(RingDesc([entry("a", gen: 2, ts: 60)]))
        #expect(ring.member("a")?.generation == 2)
    }

    @Test func gravesOutliveTombstones() {
        var ring = RingDesc([entry("a", ts: 10).tombstone(now: 10)])
        ring.collect(now: 1_000_000, tombstoneMillis: 1000, graveMillis: 10_000_000, maxGraves: 10)
        #expect(ring.instances.isEmpty)
        #expect(ring.graves["a"]?.generation == 1)
        // The stale peer's copy stays dead.
        #expect(ring.merge(RingDesc([entry("a", ts: 9)])) == nil)
        #expect(ring.member("a") == nil)
    }
}
