import Logging
import NIOConcurrencyHelpers

/// Settings of one instance's life in the ring (flag names in the README).
package struct LifecyclerConfig: Sendable {
    package var instanceID: String
    /// `host:port` of this instance's HTTP API, as others dial it.
    package var address: String
    package var zone = ""
    package var numTokens = 128
    /// Tokens are kept here so a restart keeps them; nil keeps none.
    package var tokensFile: String?
    package var heartbeatPeriodMillis: Int64 = 15_000
    package var heartbeatTimeoutMillis: Int64 = 60_000
    /// Peers forget an instance unhealthy for this many heartbeat timeouts;
    /// 0 never forgets.
    package var autoForgetPeriods = 10
    /// How long a stopping instance waits for peers to confirm its removal.
    package var leaveTimeoutMillis: Int64 = 5_000
    /// Time spent JOINING, watching for token conflicts, before ACTIVE.
    package var observePeriodMillis: Int64 = 0
    /// Used to judge whether forgetting an instance would break a quorum.
    package var replicationFactor = 3
    package var zoneAware = false
    /// How a new instance picks its tokens.
    package var tokenStrategy = TokenStrategy.random

    package enum TokenStrategy: Sendable, Equatable {
        /// Uniform random tokens no instance holds (dskit's default).
        case random
        /// Deterministic from the ID's numeric suffix and the zone's place
        /// among `zones` (Mimir's `spread-minimizing`): near-even ownership.
        case spreadMinimizing(zones: [String])
    }

    package init(instanceID: String, address: String) {
        self.instanceID = instanceID
        self.address = address
    }

    package var forgetAfterMillis: Int64? {
        guard autoForgetPeriods > 0 else { return nil }
        let (v, overflow) = heartbeatTimeoutMillis.multipliedReportingOverflow(by: Int64(autoForgetPeriods))
        return overflow ? nil : v
    }
}

/// Registers this instance in the ring, keeps its heartbeat, forgets peers
/// that stay unhealthy, and removes the instance (acknowledged) when it stops.
///
/// Lifecycle: PENDING → JOINING (tokens chosen, conflicts observed) → ACTIVE
/// → LEAVING → removed. On a restart an entry found JOINING goes back to
/// PENDING and one found LEAVING straight to ACTIVE, keeping its tokens.
package final class Lifecycler: Sendable {
    package let config: LifecyclerConfig
    package let store: any RingStore
    let logger: Logger
    private let own = NIOLockedValueBox<InstanceDesc?>(nil)
    private let counters = NIOLockedValueBox(Counters())

    package struct Counters: Sendable {
        package var autoForgotten = 0
        package var autoForgetBlocked = 0
        package var reregistered = 0
        package var leaveConfirmed = 0
        package var leaveAsked = 0
    }

    package init(config: LifecyclerConfig, store: any RingStore, logger: Logger) {
        self.config = config
        self.store = store
        self.logger = logger
    }

    package var entry: InstanceDesc? { own.withLockedValue { $0 } }
    package var stats: Counters { counters.withLockedValue { $0 } }
    package var isActive: Bool { entry?.state == .active }

    /// Joins the ring; returns once the instance is ACTIVE.
    package func register() async throws {
        let ring = store.snapshot()
        let now = Clock.nowMillis()
        if let found = ring.member(config.instanceID) {
            var entry = found
            entry.addr = config.address
            entry.zone = config.zone
            switch found.state {
            case .leaving, .active,
                .pending where found.tokens.count >= config.numTokens:
                // Crashed or restarted while LEAVING: back to ACTIVE, same tokens.
                entry.tokens = try fitted(found.tokens, ring: ring)
                entry.state = .active
                try saveTokens(entry.tokens)
                publish(entry, now: now)
                logger.info("ring: rejoined with the tokens the ring held", metadata: ["was": "\(found.state)"])
                return
            default:
                // JOINING when it stopped: start over from PENDING.
                entry.state = .pending
                publish(entry, now: now)
                try await join(from: entry, ring: ring)
            }
            return
        }
        var tokens = try loadTokens() ?? []
        let generation = Swift.max(UInt64(clamping: now), ring.highestGeneration(of: config.instanceID) &+ 1)
        var entry = InstanceDesc(
            id: config.instanceID, addr: config.address, zone: config.zone, state: .pending, generation: generation,
            timestamp: now, registeredTimestamp: now)
        if tokens.count >= config.numTokens {
            tokens = Array(tokens.prefix(config.numTokens)).sorted()
            entry.tokens = tokens
            entry.state = .active
            publish(entry, now: now)
            logger.info("ring: registered ACTIVE with the tokens file's tokens", metadata: ["tokens": "\(tokens.count)"])
            return
        }
        publish(entry, now: now)
        try await join(from: entry, ring: ring)
    }

    /// PENDING → JOINING with fresh tokens, replacing any lost in conflicts
    /// while observing, → ACTIVE.
    private func join(from start: InstanceDesc, ring: RingDesc) async throws {
        var entry = start
        var rng = SystemRandomNumberGenerator()
        if case .spreadMinimizing(let zones) = config.tokenStrategy {
            entry.tokens = try SpreadMinimizingTokenGenerator(instanceID: config.instanceID, zone: config.zone, zones: zones)
                .generate(count: config.numTokens)
        } else {
            entry.tokens = try topUp(entry.tokens, ring: ring, using: &rng)
        }
        entry.state = .joining
        try saveTokens(entry.tokens)
        publish(entry, now: Clock.nowMillis())
        for _ in 0..<10 where config.observePeriodMillis > 0 {
            try await Task.sleep(for: .milliseconds(config.observePeriodMillis))
            let current = store.snapshot()
            let lost = Set(RingSnapshot(current).conflictedTokens(of: config.instanceID))
            guard !lost.isEmpty else { break }
            logger.info("ring: tokens taken by other instances, choosing new ones", metadata: ["lost": "\(lost.count)"])
            let kept = entry.tokens.filter { !lost.contains($0) }
            entry.tokens = try topUp(kept, ring: current, using: &rng)
            try saveTokens(entry.tokens)
            publish(entry, now: Clock.nowMillis())
        }
        entry = self.entry ?? entry
        entry.state = .active
        publish(entry, now: Clock.nowMillis())
        logger.info("ring: ACTIVE", metadata: ["tokens": "\(entry.tokens.count)", "generation": "\(entry.generation)"])
    }

    /// Keeps `numTokens` of `tokens`: tops up with new ones or drops some.
    private func fitted(_ tokens: [UInt32], ring: RingDesc) throws -> [UInt32] {
        if tokens.count > config.numTokens { return Array(tokens.shuffled().prefix(config.numTokens)).sorted() }
        var rng = SystemRandomNumberGenerator()
        return try topUp(tokens, ring: ring, using: &rng)
    }

    /// `existing` plus random tokens no instance holds, `numTokens` in all.
    private func topUp(_ existing: [UInt32], ring: RingDesc, using rng: inout some RandomNumberGenerator) throws -> [UInt32] {
        let missing = config.numTokens - existing.count
        guard missing > 0 else { return existing.sorted() }
        var taken = Set(existing)
        for member in ring.members { taken.formUnion(member.tokens) }
        return (existing + (try RandomTokenGenerator.generate(count: missing, taken: taken, using: &rng))).sorted()
    }

    /// Publishes this instance's entry with a timestamp newer than its last.
    private func publish(_ entry: InstanceDesc, now: Int64) {
        var next = entry
        own.withLockedValue { last in
            next.timestamp = Swift.max(now, (last?.timestamp ?? 0) &+ 1, entry.timestamp)
            last = next
        }
        store.publish([next])
    }

    /// One heartbeat: refresh the timestamp, re-register if peers removed
    /// this running instance, forget peers unhealthy for too long, collect
    /// old tombstones.
    package func heartbeat() {
        guard var entry = self.entry, entry.state != .left else { return }
        let now = Clock.nowMillis()
        let ring = store.snapshot()
        if ring.member(config.instanceID)?.generation != entry.generation,
            ring.highestGeneration(of: config.instanceID) >= entry.generation
        {
            // Forgotten while alive (an operator's Forget, or a partition long
            // enough for auto-forget): the old generation is dead for good.
            entry.generation = Swift.max(UInt64(clamping: now), ring.highestGeneration(of: config.instanceID) &+ 1)
            entry.registeredTimestamp = now
            counters.withLockedValue { $0.reregistered += 1 }
            logger.warning("ring: this instance was removed from the ring while running; registering again")
        }
        publish(entry, now: now)
        autoForget(ring: ring, now: now)
        store.collect(now: now)
    }

    /// Heartbeats until cancelled.
    package func runHeartbeats() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(config.heartbeatPeriodMillis))
            if Task.isCancelled { break }
            heartbeat()
        }
    }

    /// Removes peers whose heartbeat is older than the forget period, unless
    /// that would leave one of their replication sets without a quorum of
    /// healthy instances: their data is then the best copy there is, and
    /// keeping the entry keeps the ring honest about it.
    func autoForget(ring: RingDesc, now: Int64) {
        guard let forgetAfter = config.forgetAfterMillis else { return }
        let snapshot = RingSnapshot(ring)
        for peer in ring.members where peer.id != config.instanceID && !peer.isHeartbeatFresh(now: now, timeoutMillis: forgetAfter) {
            if let range = rangeWithoutQuorum(peer, snapshot: snapshot, now: now) {
                counters.withLockedValue { $0.autoForgetBlocked += 1 }
                logger.warning(
                    "ring: not forgetting an unhealthy instance: a replication set it is in would be left without quorum",
                    metadata: ["instance": "\(peer.id)", "token": "\(range)"])
                continue
            }
            store.publish([peer.tombstone(now: now)])
            counters.withLockedValue { $0.autoForgotten += 1 }
            logger.warning(
                "ring: forgot an instance unhealthy for \(config.autoForgetPeriods) heartbeat timeouts",
                metadata: ["instance": "\(peer.id)", "last_heartbeat_ms": "\(peer.timestamp)"])
        }
    }

    /// A token of `peer` whose replication set has fewer healthy instances
    /// besides `peer` than a write quorum needs, if any.
    func rangeWithoutQuorum(_ peer: InstanceDesc, snapshot: RingSnapshot, now: Int64) -> UInt32? {
        for token in peer.tokens {
            let set = snapshot.replicationSet(
                forHash: token &- 1, replicationFactor: config.replicationFactor, zoneAware: config.zoneAware, now: now,
                heartbeatTimeoutMillis: config.heartbeatTimeoutMillis, operation: .reporting)
            let others = set.healthy.filter { $0.id != peer.id }.count
            if others < set.quorum { return token }
        }
        return nil
    }

    /// SIGTERM, first step: LEAVING, so distributors stop choosing this
    /// instance for writes while it still serves reads.
    package func beginLeaving() {
        guard var entry = self.entry, entry.state != .leaving, entry.state != .left else { return }
        entry.state = .leaving
        publish(entry, now: Clock.nowMillis())
        logger.info("ring: LEAVING")
    }

    /// SIGTERM, last step: removes this instance from the ring and waits (at
    /// most the leave timeout) until the live peers confirm it.
    @discardableResult
    package func unregister() async -> (confirmed: Int, asked: Int) {
        guard let entry = self.entry else { return (0, 0) }
        let tombstone = entry.tombstone(now: Swift.max(Clock.nowMillis(), entry.timestamp &+ 1))
        own.withLockedValue { $0 = tombstone }
        let result = await store.publishConfirmed([tombstone], timeoutMillis: config.leaveTimeoutMillis)
        counters.withLockedValue {
            $0.leaveConfirmed = result.confirmed
            $0.leaveAsked = result.asked
        }
        if result.confirmed < result.asked {
            logger.warning(
                "ring: removal confirmed by \(result.confirmed) of \(result.asked) members within the leave timeout; gossip carries it on",
                metadata: ["timeout_ms": "\(config.leaveTimeoutMillis)"])
        } else {
            logger.info("ring: removed from the ring", metadata: ["confirmed_by": "\(result.confirmed)"])
        }
        return result
    }

    /// The operator's Forget: removes another instance's entry.
    package func forget(_ id: String) -> Bool {
        guard let peer = store.snapshot().member(id) else { return false }
        store.publish([peer.tombstone(now: Clock.nowMillis())])
        logger.info("ring: instance forgotten on request", metadata: ["instance": "\(id)"])
        return true
    }

    private func loadTokens() throws -> [UInt32]? {
        guard let path = config.tokensFile else { return nil }
        return try TokensFile.load(path: path)
    }

    private func saveTokens(_ tokens: [UInt32]) throws {
        guard let path = config.tokensFile else { return }
        try TokensFile.save(tokens, path: path)
    }
}
