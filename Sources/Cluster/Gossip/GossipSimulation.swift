/// Many `GossipCore`s in one process, joined by a simulated network instead
/// of sockets: `muninn bench gossip` and `GossipSimulationTests` measure how
/// fast a change spreads and what steady-state gossip costs.
///
/// Time is virtual: one `step` is one gossip round (`intervalMillis`). A
/// message sent in round r is delivered at the start of round r + latency,
/// unless the loss draw drops it; a push/pull reply travels the same way.
/// Everything random comes from the generator passed in, and nothing iterates
/// a dictionary in an order that matters, so a seed reproduces a run.
package struct GossipSimulation {
    package struct Options: Sendable {
        package var members = 100
        package var tokensPerMember = 128
        /// Fraction of messages dropped, 0 ..< 1.
        package var lossRate = 0.0
        /// Rounds between sending and delivery, at least 1.
        package var latencyRounds = 1
        package var gossip = GossipConfig()
        /// Virtual Unix ms of round 0.
        package var startMillis: Int64 = 1_767_225_600_000

        package init() {}
    }

    /// Messages sent (lost ones included: the sender paid for them). Bytes
    /// are what the transport writes: encoded size plus the 4-byte frame length.
    package struct Traffic: Sendable, Equatable {
        package var messages = 0
        package var bytes = 0
        package var fullStateMessages = 0
        package var fullStateBytes = 0
        package var lost = 0
        package var largest = 0
        package var largestDelta = 0

        package init() {}

        mutating func add(bytes size: Int, fullState: Bool, lost wasLost: Bool) {
            messages += 1
            bytes += size
            if fullState {
                fullStateMessages += 1
                fullStateBytes += size
            } else {
                largestDelta = Swift.max(largestDelta, size)
            }
            if wasLost { lost += 1 }
            largest = Swift.max(largest, size)
        }

        /// The traffic since `earlier`; the maxima are the run's so far.
        package func since(_ earlier: Traffic) -> Traffic {
            var d = self
            d.messages -= earlier.messages
            d.bytes -= earlier.bytes
            d.fullStateMessages -= earlier.fullStateMessages
            d.fullStateBytes -= earlier.fullStateBytes
            d.lost -= earlier.lost
            return d
        }
    }

    package enum Change: String, Sendable, CaseIterable {
        /// The member's entry with a newer heartbeat.
        case heartbeat
        /// The member's tombstone (it leaves the ring).
        case removal
    }

    package struct Convergence: Sendable {
        /// Rounds until at least 50 %, 99 % and all members held the change;
        /// nil if the round limit came first.
        package var rounds50: Int?
        package var rounds99: Int?
        package var rounds100: Int?
        /// Members holding the change at the end.
        package var reached: Int
        package var traffic: Traffic
    }

    package struct SteadyState: Sendable {
        package var seconds: Double
        package var traffic: Traffic
        /// Largest change queue and member list seen on any member.
        package var maxQueued: Int
        package var maxMembers: Int
    }

    private struct Delivery {
        var from: Int
        var to: Int
        var message: GossipMessage
    }

    package let options: Options
    package private(set) var cores: [GossipCore]
    package private(set) var round = 0
    package private(set) var traffic = Traffic()
    /// Called with every message sent and its wire size (tests check the sizes).
    package var onSend: ((GossipMessage, Int) -> Void)?
    private let index: [String: Int]
    private var inFlight: [Int: [Delivery]] = [:]
    private var nextPushPull: [Int64]
    /// Per member; empty while nobody heartbeats.
    private var nextHeartbeat: [Int64] = []
    private var heartbeatMillis: Int64 = 0
    private var entrySizes: [String: (entry: InstanceDesc, size: Int)] = [:]

    package var now: Int64 { options.startMillis + Int64(round) * options.gossip.intervalMillis }

    /// `options.members` members that all know each other and hold the whole
    /// ring (as after joining, with nothing left to pass on), each with one
    /// entry of `tokensPerMember` random tokens. Push/pull timers start at
    /// random phases, as members that did not start together.
    package init<R: RandomNumberGenerator>(options: Options, using rng: inout R) {
        precondition(options.members > 0 && options.latencyRounds >= 1 && (0..<1).contains(options.lossRate))
        self.options = options
        let start = options.startMillis
        var entries: [InstanceDesc] = []
        var peers: [GossipMessage.Peer] = []
        for i in 0..<options.members {
            let name = "ingester-\(i)"
            let host = "10.\(i / 65_536 % 256).\(i / 256 % 256).\(i % 256)"
            var tokens = Set<UInt32>()
            while tokens.count < options.tokensPerMember { tokens.insert(UInt32.random(in: 0...UInt32.max, using: &rng)) }
            entries.append(
                InstanceDesc(
                    id: name, addr: "\(host):8080", zone: "zone-\(i % 3)", state: .active, tokens: tokens.sorted(),
                    generation: UInt64(start - 86_400_000), timestamp: start - Int64.random(in: 0..<15_000, using: &rng),
                    registeredTimestamp: start - 86_400_000))
            peers.append(.init(name: name, address: "\(host):7946"))
        }
        let ring = RingDesc(entries)
        cores = peers.map { GossipCore(me: $0, config: options.gossip, ring: ring) }
        for i in cores.indices {
            for peer in peers { cores[i].learn(peer, now: start, announce: false) }
        }
        index = Dictionary(uniqueKeysWithValues: peers.enumerated().map { ($1.name, $0) })
        let period = Swift.max(1, options.gossip.pushPullIntervalMillis)
        nextPushPull = peers.map { _ in start + Int64.random(in: 0..<period, using: &rng) }
    }

    /// One gossip round: deliveries due, heartbeats due, every member's
    /// gossip tick, push/pulls due.
    package mutating func step<R: RandomNumberGenerator>(using rng: inout R) {
        round += 1
        let now = self.now
        for delivery in inFlight.removeValue(forKey: round) ?? [] {
            let (reply, _) = cores[delivery.to].receive(delivery.message, now: now)
            if let reply { send(reply, from: delivery.to, to: delivery.from, using: &rng) }
        }
        if heartbeatMillis > 0 {
            for i in cores.indices where nextHeartbeat[i] <= now {
                nextHeartbeat[i] += heartbeatMillis
                // A member that left stays silent.
                if cores[i].ring.member(cores[i].me.name) != nil { change(.heartbeat, member: i) }
            }
        }
        for i in cores.indices {
            for (peer, message) in cores[i].tick(now: now, using: &rng) {
                if let to = index[peer.name] { send(message, from: i, to: to, using: &rng) }
            }
        }
        for i in cores.indices where nextPushPull[i] <= now {
            nextPushPull[i] += Swift.max(1, options.gossip.pushPullIntervalMillis)
            if let peer = cores[i].pushPullTarget(using: &rng), let to = index[peer.name] {
                send(cores[i].fullState(), from: i, to: to, using: &rng)
            }
        }
    }

    /// Member `member` changes its own entry now; returns the new entry.
    @discardableResult
    package mutating func change(_ change: Change, member: Int) -> InstanceDesc {
        let id = cores[member].me.name
        guard let current = cores[member].ring.instances[id] else { preconditionFailure("member \(id) has no entry") }
        var next = current.tombstone(now: now)
        if change == .heartbeat {
            next = current
            next.timestamp = Swift.max(now, current.timestamp + 1)
        }
        cores[member].applyLocal(RingDesc([next]))
        return next
    }

    /// Whether member `i` holds `entry` or something that supersedes it.
    package func holds(_ entry: InstanceDesc, member i: Int) -> Bool {
        let ring = cores[i].ring
        if let known = ring.instances[entry.id] { return !InstanceDesc.precedes(known, entry) }
        return entry.state == .left && (ring.graves[entry.id]?.generation ?? 0) >= entry.generation
    }

    /// Member `member` makes `change`; rounds run until every member holds
    /// it or `roundsLimit` rounds passed.
    package mutating func measureConvergence<R: RandomNumberGenerator>(
        _ change: Change, member: Int = 0, roundsLimit: Int, using rng: inout R
    ) -> Convergence {
        let before = traffic
        let entry = self.change(change, member: member)
        let n = cores.count
        var result = Convergence(reached: 1, traffic: Traffic())
        var rounds = 0
        while true {
            let reached = cores.indices.reduce(0) { $0 + (holds(entry, member: $1) ? 1 : 0) }
            result.reached = reached
            if result.rounds50 == nil, reached * 2 >= n { result.rounds50 = rounds }
            if result.rounds99 == nil, reached * 100 >= n * 99 { result.rounds99 = rounds }
            if reached == n {
                result.rounds100 = rounds
                break
            }
            guard rounds < roundsLimit else { break }
            step(using: &rng)
            rounds += 1
        }
        result.traffic = traffic.since(before)
        return result
    }

    /// Rounds until no member has a change left to pass on (nil if
    /// `roundsLimit` came first): retransmits must run out.
    package mutating func settle<R: RandomNumberGenerator>(roundsLimit: Int, using rng: inout R) -> Int? {
        for rounds in 0...roundsLimit {
            // Push/pulls never stop; a round is quiet when no change is queued or travelling.
            let travelling = inFlight.values.contains { $0.contains { $0.message.kind == .delta } }
            if !travelling && cores.allSatisfy({ $0.queuedChanges == 0 }) { return rounds }
            if rounds < roundsLimit { step(using: &rng) }
        }
        return nil
    }

    /// Every member heartbeats every `heartbeatMillis` (at random phases);
    /// after `warmupSeconds` the traffic of `seconds` is counted.
    package mutating func measureSteadyState<R: RandomNumberGenerator>(
        heartbeatMillis: Int64 = 15_000, warmupSeconds: Double, seconds: Double, using rng: inout R
    ) -> SteadyState {
        precondition(heartbeatMillis > 0)
        self.heartbeatMillis = heartbeatMillis
        nextHeartbeat = cores.indices.map { _ in now + Int64.random(in: 1...heartbeatMillis, using: &rng) }
        let interval = Double(options.gossip.intervalMillis)
        for _ in 0..<Int((warmupSeconds * 1000 / interval).rounded()) { step(using: &rng) }
        let before = traffic
        let rounds = Int((seconds * 1000 / interval).rounded())
        var maxQueued = 0
        var maxMembers = 0
        for _ in 0..<rounds {
            step(using: &rng)
            for core in cores {
                maxQueued = Swift.max(maxQueued, core.queuedChanges)
                maxMembers = Swift.max(maxMembers, core.members.count)
            }
        }
        self.heartbeatMillis = 0
        return SteadyState(
            seconds: Double(rounds) * interval / 1000, traffic: traffic.since(before), maxQueued: maxQueued, maxMembers: maxMembers)
    }

    private mutating func send<R: RandomNumberGenerator>(_ message: GossipMessage, from: Int, to: Int, using rng: inout R) {
        let size = wireSize(message)
        let lost = options.lossRate > 0 && Double.random(in: 0..<1, using: &rng) < options.lossRate
        traffic.add(bytes: size, fullState: message.kind == .pushPull || message.kind == .pushPullReply, lost: lost)
        onSend?(message, size)
        if !lost { inFlight[round + options.latencyRounds, default: []].append(Delivery(from: from, to: to, message: message)) }
    }

    /// `GossipCodec.encode(message).count + 4` without building the bytes:
    /// a full state of 5,000 entries is megabytes, sent hundreds of times a
    /// virtual second. Entries are sized by the codec's own writer (and
    /// remembered); the rest follows its layout (the tests compare the two).
    private mutating func wireSize(_ message: GossipMessage) -> Int {
        var body = stringSize(message.sender.name) + stringSize(message.sender.address) + varintSize(message.sequence)
        body += varintSize(UInt64(message.ring.instances.count))
        for entry in message.ring.instances.values {
            if let known = entrySizes[entry.id], known.entry == entry {
                body += known.size
            } else {
                var writer = GossipCodec.Writer()
                writer.entry(entry)
                entrySizes[entry.id] = (entry, writer.bytes.count)
                body += writer.bytes.count
            }
        }
        body += varintSize(UInt64(message.ring.graves.count))
        for (id, grave) in message.ring.graves {
            body += stringSize(id) + varintSize(grave.generation) + varintSize(UInt64(bitPattern: grave.buriedAt))
        }
        body += varintSize(UInt64(message.peers.count))
        for peer in message.peers { body += stringSize(peer.name) + stringSize(peer.address) }
        return GossipCodec.headerSize + body + 4 + 4
    }

    private func stringSize(_ s: String) -> Int {
        let count = s.utf8.count
        return varintSize(UInt64(count)) + count
    }

    private func varintSize(_ value: UInt64) -> Int {
        var size = 1
        var v = value
        while v >= 0x80 {
            v >>= 7
            size += 1
        }
        return size
    }
}
