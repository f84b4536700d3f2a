import Logging
import NIOCore
import NIOPosix
import Testing

@testable import Cluster

/// Members on loopback sockets in one process: joining, spreading a change,
/// an acknowledged removal, and what the transport does with bad frames.
@Suite struct MemberlistTests {
    let logger = Logger(label: "test")

    func member(_ name: String, join: [String] = [], dropRate: Double = 0) async throws -> MemberlistKV {
        var options = MemberlistKV.Options()
        options.bindHost = "127.0.0.1"
        options.port = 0
        options.join = join
        options.gossip.intervalMillis = 20
        // Under heavy loss a change's few gossip sends may all be lost (one
        // in 16 at 50 %); push/pull is what repairs that, so it runs often here.
        options.gossip.pushPullIntervalMillis = 300
        options.transport.dropRate = dropRate
        options.transport.maxMessageBytes = 64 << 10
        let kv = MemberlistKV(name: name, options: options, logger: logger)
        _ = try await kv.start()
        return kv
    }

    func entry(_ id: String, ts: Int64 = 1) -> InstanceDesc {
        InstanceDesc(id: id, addr: "127.0.0.1:9", state: .active, tokens: [1, 2, 3], generation: 1, timestamp: ts)
    }

    /// Polls `condition` for up to 10 s.
    func eventually(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<1000 {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    @Test func membersJoinThroughASeedAndSpreadChanges() async throws {
        let seed = try await member("a")
        let b = try await member("b", join: [seed.me.address])
        let c = try await member("c", join: [seed.me.address])
        let tasks = [seed, b, c].map { kv in Task { await kv.run() } }
        defer { for task in tasks { task.cancel() } }
        #expect(await eventually { b.status().members.count == 2 && c.status().members.count == 2 })
        b.publish([entry("b")])
        #expect(await eventually { seed.snapshot().member("b") != nil && c.snapshot().member("b") != nil })
        // A newer heartbeat replaces the old one everywhere.
        b.publish([entry("b", ts: 5)])
        #expect(await eventually { c.snapshot().member("b")?.timestamp == 5 })
        // Connections are reused: far fewer connects than messages.
        #expect(b.transport.stats.messagesSent > 2)
        #expect(b.transport.stats.connectFailures == 0)
        for kv in [seed, b, c] { await kv.leave() }
    }

    @Test func aRemovalIsConfirmedByEveryLivePeer() async throws {
        let a = try await member("a")
        let b = try await member("b", join: [a.me.address])
        let c = try await member("c", join: [a.me.address])
        let tasks = [a, b, c].map { kv in Task { await kv.run() } }
        defer { for task in tasks { task.cancel() } }
        #expect(await eventually { a.status().members.count == 2 && b.status().members.count == 2 })
        a.publish([entry("a")])
        #expect(await eventually { b.snapshot().member("a") != nil && c.snapshot().member("a") != nil })
        let result = await a.publishConfirmed([entry("a").tombstone(now: 2)], timeoutMillis: 5_000)
        #expect(result.asked == 2)
        #expect(result.confirmed == 2)
        // Confirmed means merged: no waiting for gossip here.
        #expect(b.snapshot().member("a") == nil)
        #expect(c.snapshot().member("a") == nil)
        for kv in [a, b, c] { await kv.leave() }
    }

    @Test func aRemovalIsConfirmedDespiteHeavyLoss() async throws {
        let a = try await member("a", dropRate: 0.5)
        let b = try await member("b", join: [a.me.address], dropRate: 0.5)
        let tasks = [a, b].map { kv in Task { await kv.run() } }
        defer { for task in tasks { task.cancel() } }
        #expect(await eventually { a.status().members.count == 1 && b.status().members.count == 1 })
        a.publish([entry("a")])
        #expect(await eventually { b.snapshot().member("a") != nil })
        let result = await a.publishConfirmed([entry("a").tombstone(now: 2)], timeoutMillis: 10_000)
        #expect(result.confirmed == 1)
        #expect(b.snapshot().member("a") == nil)
        #expect(a.transport.stats.messagesDropped > 0)
        for kv in [a, b] { await kv.leave() }
    }

    /// Raw frames from a plain socket: an invalid message is counted and
    /// dropped (the connection stays), an oversized frame closes it.
    @Test func badFramesAreRefused() async throws {
        let a = try await member("a")
        let (host, port) = try #require(GossipTransport.split(a.me.address))
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: host, port: port).get()
        var garbage = ByteBuffer()
        garbage.writeInteger(UInt32(5))
        garbage.writeBytes([1, 2, 3, 4, 5])
        try await channel.writeAndFlush(garbage)
        #expect(await eventually { a.transport.stats.invalidMessages == 1 })
        #expect(channel.isActive)
        var huge = ByteBuffer()
        huge.writeInteger(UInt32(1 << 20))
        try await channel.writeAndFlush(huge)
        try await channel.closeFuture.get()
        #expect(!channel.isActive)
        await a.leave()
    }
}
