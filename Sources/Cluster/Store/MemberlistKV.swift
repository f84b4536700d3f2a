import Logging
import NIOConcurrencyHelpers
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// The ring spread by gossip (`--ring.store memberlist`): a `GossipCore`
/// driven by timers and the TCP transport.
package final class MemberlistKV: RingStore {
    package struct Options: Sendable {
        package var bindHost = "0.0.0.0"
        package var port = 7946
        /// The address peers reach this member at (host:port); defaults to
        /// the bind host and port.
        package var advertise: String?
        /// `--join`: seed addresses.
        package var join: [String] = []
        /// Seeds are asked again at this interval (and whenever this member
        /// knows no live peer), so a member that was cut off finds its way
        /// back; 0 disables the periodic rejoin.
        package var rejoinIntervalMillis: Int64 = 60_000
        package var gossip = GossipConfig()
        package var transport = GossipTransport.Options()
        package var retention = TombstoneRetention()

        package init() {}
    }

    package let name: String
    package let options: Options
    let logger: Logger
    package let transport: GossipTransport
    private let core: NIOLockedValueBox<GossipCore>
    /// Acks still awaited: sequence number → peer name.
    private let awaitingAcks = NIOLockedValueBox<[UInt64: String]>([:])
    private let acked = NIOLockedValueBox<Set<String>>([])
    private let sequence = NIOLockedValueBox<UInt64>(0)
    private let pushPulls = NIOLockedValueBox<Int>(0)
    private let lastChangeReceived = NIOLockedValueBox<Int64>(0)

    package init(name: String, options: Options, logger: Logger) {
        self.name = name
        self.options = options
        self.logger = logger
        transport = GossipTransport(options: options.transport, logger: logger)
        let advertise = options.advertise ?? "\(options.bindHost):\(options.port)"
        core = NIOLockedValueBox(GossipCore(me: .init(name: name, address: advertise), config: options.gossip))
    }

    /// Binds the listener; returns the port. Then call `run`.
    package func start() async throws -> Int {
        let port = try await transport.listen(host: options.bindHost, port: options.port) { [self] message in
            handle(message)
        }
        if options.port == 0 {
            let host = options.advertise.flatMap { GossipTransport.split($0)?.0 } ?? options.bindHost
            core.withLockedValue { $0.advertise(host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)") }
        }
        return port
    }

    package var me: GossipMessage.Peer { core.withLockedValue { $0.me } }

    /// The gossip rounds, push/pull and rejoin, until the task is cancelled.
    package func run() async {
        await joinSeeds()
        var lastPushPull = Clock.nowMillis()
        var lastRejoin = lastPushPull
        var lastProbe = lastPushPull
        var rng = SystemRandomNumberGenerator()
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(options.gossip.intervalMillis))
            let now = Clock.nowMillis()
            let sends = core.withLockedValue { $0.tick(now: now, using: &rng) }
            for (peer, message) in sends { sendInBackground(message, to: peer) }
            if now - lastPushPull >= options.gossip.pushPullIntervalMillis {
                lastPushPull = now
                if let peer = core.withLockedValue({ $0.pushPullTarget(using: &rng) }) {
                    sendInBackground(core.withLockedValue { $0.fullState() }, to: peer)
                    pushPulls.withLockedValue { $0 += 1 }
                }
            }
            if now - lastProbe >= options.gossip.probeDeadIntervalMillis {
                lastProbe = now
                if let peer = core.withLockedValue({ $0.probeTarget(using: &rng) }) {
                    sendInBackground(core.withLockedValue { $0.fullState() }, to: peer)
                }
            }
            let alone = core.withLockedValue { $0.alivePeers.isEmpty }
            let rejoinDue = options.rejoinIntervalMillis > 0 && now - lastRejoin >= options.rejoinIntervalMillis
            if !options.join.isEmpty, rejoinDue || (alone && now - lastRejoin >= 1000) {
                lastRejoin = now
                await joinSeeds()
            }
        }
    }

    /// Full state to every seed; a seed's reply brings its ring and members.
    /// Returns how many seeds answered the connection.
    @discardableResult
    package func joinSeeds() async -> Int {
        let message = core.withLockedValue { $0.fullState() }
        let own = core.withLockedValue { $0.me.address }
        var reached = 0
        for seed in options.join where seed != own {
            do {
                try await transport.send(message, to: seed)
                reached += 1
            } catch {
                logger.debug("gossip seed unreachable", metadata: ["seed": "\(seed)", "error": "\(error)"])
            }
        }
        return reached
    }

    private func sendInBackground(_ message: GossipMessage, to peer: GossipMessage.Peer) {
        Task {
            do {
                try await transport.send(message, to: peer.address)
            } catch {
                core.withLockedValue { $0.sendFailed(to: peer.name, now: Clock.nowMillis()) }
            }
        }
    }

    func handle(_ message: GossipMessage) -> GossipMessage? {
        if message.kind == .ack {
            if let peer = awaitingAcks.withLockedValue({ $0.removeValue(forKey: message.sequence) }) {
                acked.withLockedValue { _ = $0.insert(peer) }
            }
        }
        let now = Clock.nowMillis()
        let (reply, changed) = core.withLockedValue { $0.receive(message, now: now) }
        if changed != nil { lastChangeReceived.withLockedValue { $0 = now } }
        return reply
    }

    package func snapshot() -> RingDesc { core.withLockedValue { $0.ring } }

    package func publish(_ entries: [InstanceDesc]) -> RingDesc? {
        core.withLockedValue { $0.applyLocal(RingDesc(entries)) }
    }

    package func publishConfirmed(_ entries: [InstanceDesc], timeoutMillis: Int64) async -> (confirmed: Int, asked: Int) {
        publish(entries)
        let update = RingDesc(entries)
        let peers = core.withLockedValue { $0.alivePeers }
        guard !peers.isEmpty else { return (0, 0) }
        acked.withLockedValue { $0 = [] }
        let deadline = Clock.nowMillis() + timeoutMillis
        while Clock.nowMillis() < deadline {
            let done = acked.withLockedValue { $0 }
            let missing = peers.filter { !done.contains($0.name) }
            if missing.isEmpty { break }
            for peer in missing {
                let seq = sequence.withLockedValue {
                    $0 += 1
                    return $0
                }
                awaitingAcks.withLockedValue { $0[seq] = peer.name }
                let message = GossipMessage(kind: .delta, sender: me, sequence: seq, ring: update)
                Task { try? await transport.send(message, to: peer.address) }
            }
            // Ask again those that did not answer: a lost message or ack.
            let retryAt = Swift.min(deadline, Clock.nowMillis() + 250)
            while Clock.nowMillis() < retryAt, acked.withLockedValue({ $0.count }) < peers.count {
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
        awaitingAcks.withLockedValue { $0 = [:] }
        let confirmed = acked.withLockedValue { set in peers.filter { set.contains($0.name) }.count }
        return (confirmed, peers.count)
    }

    package func collect(now: Int64) {
        let retention = options.retention
        core.withLockedValue {
            $0.collect(now: now, tombstoneMillis: retention.tombstoneMillis, graveMillis: retention.graveMillis, maxGraves: retention.maxGraves)
        }
    }

    /// Tells every live member this one stops, then closes the connections.
    package func leave() async {
        let (goodbye, peers) = core.withLockedValue { ($0.fullState(kind: .goodbye), $0.alivePeers) }
        let message = GossipMessage(kind: .goodbye, sender: goodbye.sender)
        await withTaskGroup(of: Void.self) { group in
            for peer in peers {
                group.addTask { try? await self.transport.send(message, to: peer.address) }
            }
        }
        await transport.shutdown()
    }

    /// For /memberlist and the metrics.
    package struct Status: Sendable {
        package var me: GossipMessage.Peer
        package var members: [GossipCore.Member]
        package var transport: GossipTransport.Counters
        package var pushPulls: Int
        package var queuedChanges: Int
        /// Members and ring entries ignored past the bounds (`GossipConfig.maxMembers`).
        package var refused: Int
        package var lastChangeReceived: Int64
    }

    package func status() -> Status {
        let (me, members, queued, refused) = core.withLockedValue { ($0.me, Array($0.members.values), $0.queuedChanges, $0.refused) }
        return Status(
            me: me, members: members.sorted { $0.peer.name < $1.peer.name }, transport: transport.stats,
            pushPulls: pushPulls.withLockedValue { $0 }, queuedChanges: queued, refused: refused,
            lastChangeReceived: lastChangeReceived.withLockedValue { $0 })
    }
}

/// Wall-clock Unix milliseconds: ring timestamps are compared across
/// machines, so they are wall-clock time, not a monotonic clock.
package enum Clock {
    package static func nowMillis() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
