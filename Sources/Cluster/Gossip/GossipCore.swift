/// Tunables of the gossip layer (cluster.md §5.2 gives dskit's defaults,
/// which these follow).
package struct GossipConfig: Sendable {
    /// Milliseconds between gossip rounds.
    package var intervalMillis: Int64 = 200
    /// Members each round sends queued changes to.
    package var fanout = 3
    /// A change is sent `retransmitMultiplier × ceil(log10(members + 1))` times.
    package var retransmitMultiplier = 4
    /// Milliseconds between full-state exchanges with one random member.
    package var pushPullIntervalMillis: Int64 = 30_000
    /// A member not heard from for this long, after failed sends, is dead:
    /// no longer chosen for gossip rounds (it still gets pushes and pulls, so
    /// it can come back).
    package var deadAfterMillis: Int64 = 10_000
    /// Dead members are dropped from the member list after this long.
    package var forgetDeadAfterMillis: Int64 = 120_000
    /// Milliseconds between full-state probes of one random dead member (one
    /// that stopped answering or said goodbye), so that one restarted at the
    /// same address is found again without waiting for a push/pull.
    package var probeDeadIntervalMillis: Int64 = 1_000
    /// Cap on the ring entries one delta carries; the rest wait a round.
    package var maxEntriesPerDelta = 1024
    /// Bounds on what peers can make this member hold: members, and ring
    /// entries (live and tombstones). Past them, new names are ignored (and
    /// counted); what is already held is still updated.
    package var maxMembers = 10_000
    package var maxInstances = 20_000

    package init() {}
}

/// The gossip protocol as a state machine without sockets or clocks: the
/// transport (`GossipTransport`) and the simulation benchmark drive the same
/// code. Every input takes `now` (Unix ms); outputs are messages to send.
package struct GossipCore: Sendable {
    package struct Member: Sendable, Equatable {
        package var peer: GossipMessage.Peer
        package var lastSeen: Int64
        package var consecutiveFailures = 0
        package var dead = false
        package var deadSince: Int64 = 0
        package var received = 0
        package var sent = 0
    }

    struct Pending: Sendable {
        var entry: InstanceDesc
        var transmitsLeft: Int
        /// Changes made here go before changes passed on (dskit #539).
        var local: Bool
    }

    package private(set) var me: GossipMessage.Peer
    package let config: GossipConfig
    package private(set) var ring = RingDesc()
    package private(set) var members: [String: Member] = [:]
    /// Members and ring entries ignored because of `maxMembers` / `maxInstances`.
    package private(set) var refused = 0
    private var pending: [String: Pending] = [:]
    /// Members learned recently, announced to others as changes are (as
    /// memberlist's alive messages), so a join is known everywhere within a
    /// few rounds instead of at the next push/pull.
    private var announcements: [String: (peer: GossipMessage.Peer, transmitsLeft: Int)] = [:]
    /// `alivePeers`, kept between rounds: sorting every member each round was
    /// O(N log N) per 200 ms (about 60,000 name comparisons at 5,000 members).
    /// Nil after any change to who is a live member, or at which address.
    private var aliveCache: [GossipMessage.Peer]?

    /// `ring` is state this member already holds and has passed on (the
    /// simulation starts from an already-joined cluster); it is not queued.
    package init(me: GossipMessage.Peer, config: GossipConfig, ring: RingDesc = RingDesc()) {
        self.me = me
        self.config = config
        self.ring = ring
    }

    /// The address peers reach this member at, once the listener is bound
    /// (a port 0 listener learns its port only then).
    package mutating func advertise(_ address: String) { me.address = address }

    package var alivePeers: [GossipMessage.Peer] {
        aliveCache ?? members.values.filter { !$0.dead }.map(\.peer).sorted { $0.name < $1.name }
    }

    package var queuedChanges: Int { pending.count }

    /// How often one change is sent: `multiplier × ceil(log10(members + 1))`,
    /// at least once per multiplier.
    package var retransmitLimit: Int {
        var digits = 0
        var power = 1
        while power < members.count + 1 {
            power *= 10
            digits += 1
        }
        return config.retransmitMultiplier * Swift.max(1, digits)
    }

    /// Applies a change made here (a CAS result) and queues it for gossip.
    /// Returns what actually changed.
    @discardableResult
    package mutating func applyLocal(_ update: RingDesc) -> RingDesc? {
        guard let delta = ring.merge(update) else { return nil }
        enqueue(delta, local: true)
        return delta
    }

    private mutating func enqueue(_ delta: RingDesc, local: Bool) {
        let limit = retransmitLimit
        for (id, entry) in delta.instances {
            pending[id] = Pending(entry: entry, transmitsLeft: limit, local: local)
        }
    }

    /// One gossip round: queued changes to `fanout` random live members.
    package mutating func tick<R: RandomNumberGenerator>(now: Int64, using rng: inout R) -> [(GossipMessage.Peer, GossipMessage)] {
        expireDead(now: now)
        guard !pending.isEmpty || !announcements.isEmpty else { return [] }
        let targets = pickTargets(using: &rng)
        guard !targets.isEmpty else { return [] }
        var out: [(GossipMessage.Peer, GossipMessage)] = []
        for target in targets {
            // The order only decides what waits when not everything fits.
            let chosen =
                pending.count <= config.maxEntriesPerDelta
                ? Array(pending.values)
                : Array(
                    pending.values
                        .sorted {
                            ($0.local ? 0 : 1, -$0.transmitsLeft, $0.entry.id) < ($1.local ? 0 : 1, -$1.transmitsLeft, $1.entry.id)
                        }
                        .prefix(config.maxEntriesPerDelta))
            let peers = announcements.values.sorted { $0.peer.name < $1.peer.name }.prefix(config.maxEntriesPerDelta).map(\.peer)
            guard !chosen.isEmpty || !peers.isEmpty else { break }
            for peer in peers {
                if var a = announcements[peer.name] {
                    a.transmitsLeft -= 1
                    announcements[peer.name] = a.transmitsLeft > 0 ? a : nil
                }
            }
            var delta = RingDesc()
            delta.instances.reserveCapacity(chosen.count)
            for item in chosen {
                delta.instances[item.entry.id] = item.entry
                if var p = pending[item.entry.id] {
                    p.transmitsLeft -= 1
                    pending[item.entry.id] = p.transmitsLeft > 0 ? p : nil
                }
            }
            members[target.name]?.sent += 1
            out.append((target, GossipMessage(kind: .delta, sender: me, ring: delta, peers: Array(peers))))
        }
        return out
    }

    /// `fanout` distinct live members, drawn by index from the sorted list
    /// (O(fanout) per round, and reproducible from the generator's seed).
    private mutating func pickTargets<R: RandomNumberGenerator>(using rng: inout R) -> [GossipMessage.Peer] {
        let alive = alivePeers
        aliveCache = alive
        guard alive.count > config.fanout else { return alive.shuffled(using: &rng) }
        var picked = Set<Int>()
        var targets: [GossipMessage.Peer] = []
        while targets.count < config.fanout {
            let index = Int.random(in: 0..<alive.count, using: &rng)
            if picked.insert(index).inserted { targets.append(alive[index]) }
        }
        return targets
    }

    /// A full-state message for a push/pull exchange (also how a node joins).
    package func fullState(kind: GossipMessage.Kind = .pushPull, sequence: UInt64 = 0) -> GossipMessage {
        GossipMessage(kind: kind, sender: me, sequence: sequence, ring: ring, peers: [me] + alivePeers)
    }

    /// The member to exchange full state with this period, if any.
    package func pushPullTarget<R: RandomNumberGenerator>(using rng: inout R) -> GossipMessage.Peer? {
        // Dead members too, now and then: that is how a healed partition
        // finds its way back.
        let all = members.values.map(\.peer).sorted { $0.name < $1.name }
        return all.randomElement(using: &rng)
    }

    /// A dead member to send full state to now and then (see
    /// `GossipConfig.probeDeadIntervalMillis`), if any.
    package func probeTarget<R: RandomNumberGenerator>(using rng: inout R) -> GossipMessage.Peer? {
        members.values.filter(\.dead).map(\.peer).sorted { $0.name < $1.name }.randomElement(using: &rng)
    }

    /// Handles one received message; returns the reply to send back on the
    /// same connection (if any) and what it changed in the ring.
    package mutating func receive(_ message: GossipMessage, now: Int64) -> (reply: GossipMessage?, changed: RingDesc?) {
        let sender = message.sender
        if sender.name != me.name {
            if message.kind == .goodbye {
                announcements[sender.name] = nil
                // Kept as dead, with its address, rather than dropped: a seed
                // whose --join names only itself comes back at that address
                // knowing nobody, and only a probe from here reaches it.
                var member = members[sender.name] ?? Member(peer: sender, lastSeen: now)
                member.dead = true
                member.deadSince = now
                members[sender.name] = member
                aliveCache = nil
            } else {
                let known = members[sender.name]
                if known == nil { announce(sender) }
                if known == nil || known!.dead || known!.peer != sender { aliveCache = nil }
                var member = known ?? Member(peer: sender, lastSeen: now)
                member.peer = sender
                member.lastSeen = now
                member.consecutiveFailures = 0
                member.dead = false
                member.received += 1
                members[sender.name] = member
            }
        }
        for peer in message.peers where peer.name != me.name && members[peer.name] == nil {
            guard members.count < config.maxMembers else {
                refused += 1
                continue
            }
            // Learned second hand: alive until sends to it fail.
            members[peer.name] = Member(peer: peer, lastSeen: now)
            announce(peer)
            aliveCache = nil
        }
        var changed: RingDesc? = nil
        if message.kind != .ack, message.kind != .goodbye, let delta = ring.merge(bounded(message.ring)) {
            changed = delta
            enqueue(delta, local: false)
        }
        switch message.kind {
        case .pushPull:
            return (fullState(kind: .pushPullReply, sequence: message.sequence), changed)
        case .delta where message.sequence != 0:
            return (GossipMessage(kind: .ack, sender: me, sequence: message.sequence), changed)
        default:
            return (nil, changed)
        }
    }

    /// `incoming` without the new instances that would take the ring past
    /// `maxInstances`.
    private mutating func bounded(_ incoming: RingDesc) -> RingDesc {
        let room = config.maxInstances - ring.instances.count
        let new = incoming.instances.keys.filter { ring.instances[$0] == nil }
        guard new.count > room else { return incoming }
        var kept = incoming
        for id in new.sorted().dropFirst(Swift.max(0, room)) { kept.instances[id] = nil }
        refused += new.count - Swift.max(0, room)
        return kept
    }

    /// A send to `name` failed (connect refused, timeout, reset).
    package mutating func sendFailed(to name: String, now: Int64) {
        guard var member = members[name] else { return }
        member.consecutiveFailures += 1
        if !member.dead, member.consecutiveFailures >= 3, now - member.lastSeen >= config.deadAfterMillis {
            member.dead = true
            member.deadSince = now
            aliveCache = nil
        }
        members[name] = member
    }

    /// Adds a member by address (a seed answered, or `--join`), announced to
    /// the others unless `announce` is false (a member of a cluster that is
    /// already joined, as the simulation starts from).
    package mutating func learn(_ peer: GossipMessage.Peer, now: Int64, announce: Bool = true) {
        guard peer.name != me.name, members[peer.name] == nil else { return }
        members[peer.name] = Member(peer: peer, lastSeen: now)
        if announce { self.announce(peer) }
        aliveCache = nil
    }

    private mutating func announce(_ peer: GossipMessage.Peer) {
        announcements[peer.name] = (peer, retransmitLimit)
    }

    /// Housekeeping on the ring: tombstones into graves (see RingDesc.collect).
    package mutating func collect(now: Int64, tombstoneMillis: Int64, graveMillis: Int64, maxGraves: Int) {
        ring.collect(now: now, tombstoneMillis: tombstoneMillis, graveMillis: graveMillis, maxGraves: maxGraves)
    }

    private mutating func expireDead(now: Int64) {
        // While every member is live (most rounds) there is nothing to scan.
        if let alive = aliveCache, alive.count == members.count { return }
        for (name, member) in members where member.dead && now - member.deadSince > config.forgetDeadAfterMillis {
            members[name] = nil
        }
    }
}
