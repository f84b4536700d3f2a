import TestSupport
import Testing

@testable import Cluster

/// The gossip protocol run by `GossipSimulation`: small clusters, fixed
/// seeds, counted in rounds (virtual time), so nothing here depends on timing.
@Suite struct GossipSimulationTests {
    func simulation(members: Int, loss: Double = 0, seed: UInt64, configure: (inout GossipConfig) -> Void = { _ in }) -> (
        GossipSimulation, SplitMix64
    ) {
        var options = GossipSimulation.Options()
        options.members = members
        options.tokensPerMember = 16
        options.lossRate = loss
        configure(&options.gossip)
        var rng = SplitMix64(seed: seed)
        return (GossipSimulation(options: options, using: &rng), rng)
    }

    @Test func aHeartbeatReachesEveryMemberByGossip() throws {
        var (sim, rng) = simulation(members: 20, seed: 1)
        // 30 rounds are 6 s: too short for push/pull (every 30 s) to do it.
        let result = sim.measureConvergence(.heartbeat, member: 3, roundsLimit: 30, using: &rng)
        #expect(result.reached == 20)
        let r50 = try #require(result.rounds50)
        let r99 = try #require(result.rounds99)
        let r100 = try #require(result.rounds100)
        #expect(1 <= r50 && r50 <= r99 && r99 <= r100)
        // Retransmits run out: the queues empty again.
        #expect(sim.settle(roundsLimit: 50, using: &rng) != nil)
    }

    @Test func aRemovalReachesEveryMemberAndNobodyListsTheInstance() {
        var (sim, rng) = simulation(members: 20, seed: 2)
        let removed = sim.cores[7].me.name
        let result = sim.measureConvergence(.removal, member: 7, roundsLimit: 30, using: &rng)
        #expect(result.rounds100 != nil)
        for core in sim.cores {
            #expect(core.ring.member(removed) == nil)
            #expect(!core.ring.members.contains { $0.id == removed })
            #expect(core.ring.members.count == 19)
        }
    }

    /// Weak gossip (one target, one send per change) loses the change to 30 %
    /// loss; push/pull every 30 s must bring it to everyone anyway.
    @Test func underLossPushPullRepairsWhatGossipMissed() {
        let weak: (inout GossipConfig) -> Void = {
            $0.fanout = 1
            $0.retransmitMultiplier = 1
        }
        // About five push/pull periods (150 rounds each): with 30 % loss each
        // way a member misses a given exchange half the time, and two periods
        // leave some member out for about one seed in five.
        var (sim, rng) = simulation(members: 30, loss: 0.3, seed: 3, configure: weak)
        let result = sim.measureConvergence(.heartbeat, roundsLimit: 800, using: &rng)
        #expect(result.rounds100 != nil)
        // The same run without push/pull stops short: the repair was push/pull's.
        var (control, controlRNG) = simulation(members: 30, loss: 0.3, seed: 3) {
            weak(&$0)
            $0.pushPullIntervalMillis = 10_000_000
        }
        let stuck = control.measureConvergence(.heartbeat, roundsLimit: 800, using: &controlRNG)
        #expect(stuck.rounds100 == nil)
        #expect(stuck.reached < 30)

        // The default configuration converges under the same loss.
        var (normal, normalRNG) = simulation(members: 30, loss: 0.3, seed: 3)
        #expect(normal.measureConvergence(.heartbeat, roundsLimit: 400, using: &normalRNG).rounds100 != nil)
    }

    @Test func steadyStateTrafficCountsTheEncodedSizes() {
        var (sim, rng) = simulation(members: 10, seed: 4)
        final class Seen {
            var messages = 0
            var bytes = 0
            var mismatches = 0
        }
        let seen = Seen()
        sim.onSend = { message, size in
            let encoded = GossipCodec.encode(message).count + 4
            seen.messages += 1
            seen.bytes += encoded
            if size != encoded { seen.mismatches += 1 }
        }
        // 40 s: every member heartbeats and does a push/pull, so both kinds are counted.
        let steady = sim.measureSteadyState(heartbeatMillis: 15_000, warmupSeconds: 0, seconds: 40, using: &rng)
        #expect(steady.traffic.messages > 0 && steady.traffic.bytes > 0)
        #expect(steady.traffic.fullStateMessages > 0 && steady.traffic.fullStateBytes < steady.traffic.bytes)
        #expect(steady.traffic.messages == seen.messages)
        #expect(steady.traffic.bytes == seen.bytes)
        #expect(seen.mismatches == 0)
        #expect(steady.traffic.largest >= steady.traffic.largestDelta && steady.traffic.largestDelta > 0)
        #expect(steady.maxMembers == 9)
    }

    /// `tick` keeps the sorted live-member list between rounds; joining,
    /// leaving and dying must still change whom it sends to.
    @Test func gossipTargetsFollowMembershipChanges() {
        var core = GossipCore(me: .init(name: "a", address: "a:1"), config: GossipConfig())
        var rng = SplitMix64(seed: 5)
        let entry = InstanceDesc(id: "a", addr: "a:2", state: .active, generation: 1, timestamp: 1)
        func targets(_ core: inout GossipCore, now: Int64) -> Set<String> {
            core.applyLocal(RingDesc([InstanceDesc(id: "a", addr: "a:2", state: .active, generation: 1, timestamp: now)]))
            return Set(core.tick(now: now, using: &rng).map(\.0.name))
        }
        core.applyLocal(RingDesc([entry]))
        for name in ["b", "c"] { core.learn(.init(name: name, address: "\(name):1"), now: 0) }
        #expect(targets(&core, now: 10) == ["b", "c"])
        core.learn(.init(name: "d", address: "d:1"), now: 0)
        #expect(targets(&core, now: 20) == ["b", "c", "d"])
        _ = core.receive(GossipMessage(kind: .goodbye, sender: .init(name: "c", address: "c:1")), now: 30)
        #expect(targets(&core, now: 40) == ["b", "d"])
        for _ in 0..<3 { core.sendFailed(to: "b", now: 20_000) }
        #expect(targets(&core, now: 20_010) == ["d"])
        // A message from "b" brings it back, at its new address.
        _ = core.receive(GossipMessage(kind: .delta, sender: .init(name: "b", address: "b:9")), now: 20_020)
        let sends = core.tick(now: 20_030, using: &rng)
        #expect(Set(sends.map(\.0)) == [.init(name: "b", address: "b:9"), .init(name: "d", address: "d:1")])
        // A dead member is forgotten after forgetDeadAfterMillis, also once
        // the live list has been rebuilt without it.
        for _ in 0..<3 { core.sendFailed(to: "d", now: 40_000) }
        #expect(targets(&core, now: 40_010) == ["b"])
        #expect(core.members["d"] != nil)
        _ = targets(&core, now: 40_000 + GossipConfig().forgetDeadAfterMillis + 1)
        #expect(core.members["d"] == nil)
    }
}
