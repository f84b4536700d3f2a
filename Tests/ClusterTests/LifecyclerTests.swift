import Foundation
import Logging
import TestSupport
import Testing

@testable import Cluster

/// The lifecycler against an in-memory ring: what each start finds and does,
/// heartbeats after being forgotten, auto-forget and its quorum guard.
@Suite struct LifecyclerTests {
    let logger = Logger(label: "test")

    func config(_ id: String, tokensFile: String? = nil) -> LifecyclerConfig {
        var c = LifecyclerConfig(instanceID: id, address: "127.0.0.1:1")
        c.tokensFile = tokensFile
        c.heartbeatTimeoutMillis = 1_000
        c.autoForgetPeriods = 2
        return c
    }

    func peer(_ id: String, tokens: [UInt32], heartbeatAgo: Int64, state: InstanceState = .active) -> InstanceDesc {
        let now = Clock.nowMillis()
        return InstanceDesc(
            id: id, addr: "127.0.0.1:2", state: state, tokens: tokens, generation: 1, timestamp: now - heartbeatAgo,
            registeredTimestamp: 1)
    }

    @Test func aFreshInstanceRegistersActiveAndKeepsItsTokens() async throws {
        let file = Scratch.directory("lifecycler").appendingPathComponent("tokens.json").path
        let store = InMemoryRingStore()
        let first = Lifecycler(config: config("a", tokensFile: file), store: store, logger: logger)
        try await first.register()
        let entry = try #require(store.snapshot().member("a"))
        #expect(entry.state == .active)
        #expect(entry.tokens.count == 128)
        #expect(try TokensFile.load(path: file) == entry.tokens)
        #expect(first.isActive)

        // Removed, then started again: the tokens file brings the same tokens
        // back, at a generation above the removed one.
        await first.unregister()
        #expect(store.snapshot().member("a") == nil)
        let second = Lifecycler(config: config("a", tokensFile: file), store: store, logger: logger)
        try await second.register()
        let back = try #require(store.snapshot().member("a"))
        #expect(back.tokens == entry.tokens)
        #expect(back.generation > entry.generation)
        #expect(back.state == .active)
    }

    @Test func anEntryFoundLeavingGoesStraightBackToActive() async throws {
        let tokens: [UInt32] = Array(1...128).map { UInt32($0) * 1000 }
        let store = InMemoryRingStore()
        store.publish([peer("a", tokens: tokens, heartbeatAgo: 10_000, state: .leaving)])
        let life = Lifecycler(config: config("a"), store: store, logger: logger)
        try await life.register()
        let entry = try #require(store.snapshot().member("a"))
        #expect(entry.state == .active)
        #expect(entry.tokens == tokens)
        #expect(entry.generation == 1)
    }

    @Test func anEntryFoundJoiningStartsOverAndEndsActive() async throws {
        let store = InMemoryRingStore()
        store.publish([peer("a", tokens: [5, 6], heartbeatAgo: 10_000, state: .joining)])
        let life = Lifecycler(config: config("a"), store: store, logger: logger)
        try await life.register()
        let entry = try #require(store.snapshot().member("a"))
        #expect(entry.state == .active)
        #expect(entry.tokens.count == 128)
        #expect(entry.tokens.contains(5) && entry.tokens.contains(6))
    }

    @Test func tokensLostToASmallerIDAreReplacedWhileJoining() async throws {
        let store = InMemoryRingStore()
        // Everything "b" will draw is taken by "a" after its first publish:
        // simulated by a peer that copies b's tokens before the observe ends.
        var c = config("b")
        c.observePeriodMillis = 50
        let life = Lifecycler(config: c, store: store, logger: logger)
        let registering = Task { try await life.register() }
        var copied = false
        for _ in 0..<200 where !copied {
            if let b = store.snapshot().member("b"), b.state == .joining {
                store.publish([peer("a", tokens: Array(b.tokens.prefix(10)), heartbeatAgo: 0)])
                copied = true
            }
            try await Task.sleep(for: .milliseconds(1))
        }
        try await registering.value
        #expect(copied)
        let ring = store.snapshot()
        let a = try #require(ring.member("a"))
        let b = try #require(ring.member("b"))
        #expect(b.state == .active)
        #expect(b.tokens.count == 128)
        #expect(Set(a.tokens).isDisjoint(with: b.tokens))
    }

    @Test func aForgottenRunningInstanceRegistersAgainOnItsHeartbeat() async throws {
        let store = InMemoryRingStore()
        let life = Lifecycler(config: config("a"), store: store, logger: logger)
        try await life.register()
        let before = try #require(store.snapshot().member("a"))
        store.publish([before.tombstone(now: Clock.nowMillis())])
        #expect(store.snapshot().member("a") == nil)
        life.heartbeat()
        let after = try #require(store.snapshot().member("a"))
        #expect(after.generation > before.generation)
        #expect(after.tokens == before.tokens)
        #expect(life.stats.reregistered == 1)
    }

    @Test func peersUnhealthyForTheForgetPeriodAreForgotten() async throws {
        let store = InMemoryRingStore()
        let life = Lifecycler(config: config("a"), store: store, logger: logger)
        try await life.register()
        // Forget period = 2 × 1 s. "b" and "d" are healthy, "c" stale 3 s,
        // "e" stale 1.5 s: unhealthy, but not for long enough.
        store.publish([
            peer("b", tokens: [100, 200], heartbeatAgo: 0), peer("c", tokens: [300, 400], heartbeatAgo: 3_000),
            peer("d", tokens: [301, 401], heartbeatAgo: 0), peer("e", tokens: [50, 60], heartbeatAgo: 1_500)
        ])
        life.heartbeat()
        let ring = store.snapshot()
        #expect(ring.member("c") == nil)
        #expect(ring.member("b") != nil)
        #expect(ring.member("d") != nil)
        #expect(ring.member("e") != nil)
        #expect(life.stats.autoForgotten == 1)
    }

    @Test func forgettingIsRefusedWhenItWouldLeaveAReplicationSetWithoutQuorum() async throws {
        let store = InMemoryRingStore()
        let life = Lifecycler(config: config("a"), store: store, logger: logger)
        try await life.register()
        // RF 3 over three instances: with "b" and "c" both long dead, "a" alone
        // is below the quorum of 2 in every replication set.
        store.publish([peer("b", tokens: [100, 200], heartbeatAgo: 5_000), peer("c", tokens: [300, 400], heartbeatAgo: 5_000)])
        life.heartbeat()
        let ring = store.snapshot()
        #expect(ring.member("b") != nil)
        #expect(ring.member("c") != nil)
        #expect(life.stats.autoForgotten == 0)
        #expect(life.stats.autoForgetBlocked == 2)

        // Two healthy instances right after each of their tokens restore the
        // quorum of every set they are in: now both go.
        let dead: [UInt32] = [100, 200, 300, 400]
        store.publish([peer("d", tokens: dead.map { $0 + 1 }, heartbeatAgo: 0), peer("e", tokens: dead.map { $0 + 2 }, heartbeatAgo: 0)])
        life.heartbeat()
        #expect(store.snapshot().member("b") == nil)
        #expect(store.snapshot().member("c") == nil)
        #expect(life.stats.autoForgotten == 2)
    }

    @Test func autoForgetOffNeverForgets() async throws {
        let store = InMemoryRingStore()
        var c = config("a")
        c.autoForgetPeriods = 0
        let life = Lifecycler(config: c, store: store, logger: logger)
        try await life.register()
        store.publish([peer("b", tokens: [1], heartbeatAgo: 3_600_000), peer("d", tokens: [2], heartbeatAgo: 0)])
        life.heartbeat()
        #expect(store.snapshot().member("b") != nil)
    }

    @Test func leavingThenUnregisteringLeavesATombstone() async throws {
        let store = InMemoryRingStore()
        let life = Lifecycler(config: config("a"), store: store, logger: logger)
        try await life.register()
        life.beginLeaving()
        #expect(store.snapshot().member("a")?.state == .leaving)
        await life.unregister()
        #expect(store.snapshot().member("a") == nil)
        #expect(store.snapshot().instances["a"]?.state == .left)
        // A heartbeat after the removal must not bring it back.
        life.heartbeat()
        #expect(store.snapshot().member("a") == nil)
    }
}
