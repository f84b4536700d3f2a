import Testing

@testable import Cluster

/// A peer cannot make a member hold more members or ring entries than its
/// bounds; what it already holds keeps being updated.
@Suite struct GossipBoundsTests {
    @Test func floodsOfNewNamesStopAtTheBounds() {
        var config = GossipConfig()
        config.maxMembers = 5
        config.maxInstances = 8
        var core = GossipCore(me: .init(name: "me", address: "127.0.0.1:1"), config: config)
        let peers = (0..<50).map { GossipMessage.Peer(name: "p\($0)", address: "127.0.0.1:\($0 + 2)") }
        let entries = (0..<50).map {
            InstanceDesc(id: "i\($0)", addr: "127.0.0.1:9", state: .active, tokens: [UInt32($0)], generation: 1, timestamp: 1)
        }
        _ = core.receive(GossipMessage(kind: .pushPull, sender: peers[0], ring: RingDesc(entries), peers: peers), now: 10)
        #expect(core.members.count == 5)
        #expect(core.ring.instances.count == 8)
        #expect(core.refused == 45 + 42)
        // Updates to entries already held still apply.
        let held = core.ring.instances.keys.sorted()[0]
        var newer = core.ring.instances[held]!
        newer.timestamp = 99
        _ = core.receive(GossipMessage(kind: .delta, sender: peers[0], ring: RingDesc([newer])), now: 11)
        #expect(core.ring.instances[held]?.timestamp == 99)
    }
}
