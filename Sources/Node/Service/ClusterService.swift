import Cluster
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// This node's place in the ring: the ring store (in memory, or gossip) and
/// the lifecycler that keeps the node's entry in it.
final class ClusterMembership: Sendable {
    let store: any RingStore
    let memberlist: MemberlistKV?
    let lifecycler: Lifecycler
    let config: NodeConfig.Ring
    /// Fired when the gossip listener is bound and the seeds were tried.
    let gossipStarted = AsyncSignal()
    /// Set by `POST /ingester/shutdown`: leave the ring even when
    /// `unregister-on-shutdown` is false (the instance is going away).
    let unregisterRequested = Atomic<Bool>(false)

    init(config node: NodeConfig, logger: Logger) {
        let ring = node.ring
        config = ring
        var retention = TombstoneRetention()
        retention.tombstoneMillis = ring.ms(ring.tombstoneRetention)
        let id = ring.resolvedInstanceID
        if ring.gossiping {
            var options = MemberlistKV.Options()
            options.bindHost = ring.gossipAddress.isEmpty ? node.server.httpAddress : ring.gossipAddress
            options.port = ring.gossipPort
            options.advertise = "\(Self.advertisedHost(options.bindHost)):\(ring.gossipPort)"
            options.join = ring.join
            options.rejoinIntervalMillis = ring.ms(ring.rejoinInterval)
            options.gossip.intervalMillis = ring.ms(ring.gossipInterval)
            options.gossip.fanout = ring.gossipNodes
            options.gossip.pushPullIntervalMillis = ring.ms(ring.pushPullInterval)
            // A member is dead after missing what would have been a few heartbeats.
            options.gossip.deadAfterMillis = Swift.max(2_000, ring.ms(ring.heartbeatPeriod) * 2)
            options.transport.maxMessageBytes = ring.maxGossipMessageBytes
            options.transport.dropRate = ring.testDropRate
            options.retention = retention
            let kv = MemberlistKV(name: id, options: options, logger: logger)
            memberlist = kv
            store = kv
        } else {
            memberlist = nil
            store = InMemoryRingStore(retention: retention)
        }
        let address =
            ring.advertiseAddress.isEmpty
            ? "\(Self.advertisedHost(node.server.httpAddress)):\(node.server.httpPort)" : ring.advertiseAddress
        var life = LifecyclerConfig(instanceID: id, address: address)
        life.zone = ring.zone
        life.numTokens = ring.numTokens
        life.tokensFile = node.storage.dataDir + "/ring-tokens.json"
        life.heartbeatPeriodMillis = ring.ms(ring.heartbeatPeriod)
        life.heartbeatTimeoutMillis = ring.ms(ring.heartbeatTimeout)
        life.autoForgetPeriods = ring.autoForgetPeriods
        life.leaveTimeoutMillis = ring.ms(ring.leaveTimeout)
        life.observePeriodMillis = ring.ms(ring.observePeriod)
        life.replicationFactor = ring.replicationFactor
        life.zoneAware = !ring.zone.isEmpty
        if ring.tokenGenerationStrategy == "spread-minimizing" { life.tokenStrategy = .spreadMinimizing(zones: ring.tokenZones) }
        lifecycler = Lifecycler(config: life, store: store, logger: logger)
    }

    /// A wildcard listen address is not something a peer can dial.
    static func advertisedHost(_ host: String) -> String {
        host == "0.0.0.0" || host == "::" || host.isEmpty ? ProcessInfo.processInfo.hostName : host
    }
}

/// Runs gossip for the node's whole life; listed first so it stops last,
/// after the lifecycler has removed the node from the ring.
struct GossipService: Service {
    let membership: ClusterMembership
    let logger: Logger

    func run() async throws {
        guard let kv = membership.memberlist else {
            // Nothing to run, but a service that returns early stops the group.
            membership.gossipStarted.fire()
            try? await gracefulShutdown()
            return
        }
        let port = try await kv.start()
        logger.info("gossip listening", metadata: ["port": "\(port)", "advertise": "\(kv.me.address)"])
        let reached = await kv.joinSeeds()
        if !kv.options.join.isEmpty {
            logger.info("gossip: joined", metadata: ["seeds_reached": "\(reached)", "seeds": "\(kv.options.join.count)"])
        }
        membership.gossipStarted.fire()
        await cancelWhenGracefulShutdown { await kv.run() }
        await kv.leave()
        logger.info("gossip stopped")
    }
}

/// Registers the node once its storage is open (as Mimir, after WAL
/// replay), heartbeats, and on shutdown removes it from the ring. Listed
/// before the storage so it stops after it: the entry stays (LEAVING, still
/// heartbeating) while a shutdown flush runs.
struct LifecyclerService: Service {
    let membership: ClusterMembership
    let state: NodeState

    func run() async throws {
        await membership.gossipStarted.wait()
        let lifecycler = membership.lifecycler
        // Storage first: wait until it has replayed and opened.
        while state.phase == .starting, !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(20))
        }
        guard state.phase == .running else { return }
        if let kv = membership.memberlist, kv.options.join.contains(where: { $0 != kv.me.address }) {
            // See the ring before registering, so a restart finds its old entry.
            let deadline = ContinuousClock.now + .seconds(5)
            while kv.status().members.isEmpty, ContinuousClock.now < deadline, !Task.isShuttingDownGracefully {
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        do {
            try await cancelWhenGracefulShutdown { try await lifecycler.register() }
        } catch is CancellationError {
            // Stopped while joining: take back whatever was published.
            if lifecycler.entry != nil { await lifecycler.unregister() }
            return
        } catch {
            state.logger.error("ring: registration failed", metadata: ["error": "\(error)"])
            throw error
        }
        await cancelWhenGracefulShutdown { await lifecycler.runHeartbeats() }
        lifecycler.beginLeaving()
        if membership.config.unregisterOnShutdown || membership.unregisterRequested.load(ordering: .relaxed) {
            await lifecycler.unregister()
        } else {
            state.logger.info("ring: keeping this instance's entry (LEAVING) for a restart with the same ID")
        }
    }
}
