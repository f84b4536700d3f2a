/// What a ring operation accepts, as dskit's `ring.Operation` (cluster.md §1.3).
package enum RingOperation: Sendable, Equatable {
    /// A push (dskit `WriteNoExtend`): only ACTIVE replicas are healthy, a
    /// non-ACTIVE one is not replaced, and read-only instances are passed over
    /// (the walk goes on to the next instance) so new series land elsewhere.
    case write
    /// A query: ACTIVE, PENDING and LEAVING replicas are healthy (Mimir counts
    /// LEAVING as unhealthy for reads, #5978; a leaving ingester still holds
    /// its series until it is gone). Read-only instances serve reads.
    case read
    /// The ring page and metrics: every state.
    case reporting

    package func accepts(_ state: InstanceState) -> Bool {
        switch self {
        case .write: state == .active
        case .read: state == .active || state == .pending || state == .leaving
        case .reporting: state != .left
        }
    }

    var skipsReadOnly: Bool { self == .write }
}

/// The state the ring page and the members metric show: the stored state,
/// unless the heartbeat is stale.
package enum DisplayState: String, Sendable, CaseIterable {
    case pending = "PENDING"
    case joining = "JOINING"
    case active = "ACTIVE"
    case leaving = "LEAVING"
    case unhealthy = "UNHEALTHY"

    /// Nil for a tombstone (LEFT), which is never shown.
    package init?(_ desc: InstanceDesc, now: Int64, heartbeatTimeoutMillis: Int64) {
        guard desc.state != .left else { return nil }
        guard desc.isHeartbeatFresh(now: now, timeoutMillis: heartbeatTimeoutMillis) else {
            self = .unhealthy
            return
        }
        switch desc.state {
        case .pending: self = .pending
        case .joining: self = .joining
        case .active: self = .active
        case .leaving: self = .leaving
        case .left: return nil
        }
    }
}

/// The replicas of one hash (cluster.md §2.2, §2.3). Unhealthy replicas stay
/// in `instances` because they count towards the quorum arithmetic; only
/// `healthy` ones are sent to.
package struct ReplicationSet: Sendable, Equatable {
    /// Chosen replicas in ring-walk order.
    package let instances: [InstanceDesc]
    /// The chosen replicas the operation may use.
    package let healthy: [InstanceDesc]
    /// floor(max(RF, replicas) / 2) + 1.
    package let quorum: Int

    package init(instances: [InstanceDesc], healthy: [InstanceDesc], replicationFactor: Int) {
        self.instances = instances
        self.healthy = healthy
        quorum = Swift.max(replicationFactor, instances.count) / 2 + 1
    }

    /// Whether enough replicas are healthy to reach the quorum at all.
    package var hasQuorum: Bool { healthy.count >= quorum }

    /// Failures the operation can absorb and still reach the quorum; 0 when
    /// it cannot reach it (see `hasQuorum`).
    package var maxErrors: Int { Swift.max(0, healthy.count - quorum) }
}

/// An immutable view of the ring for lookups: the live entries (LEFT ones
/// are dropped) and one table of every token with its owner, sorted.
///
/// Two instances claiming one token (random tokens collide, or two gossiping
/// members picked them at once) are resolved here and not in the stored
/// ring: the stored entries are the instances' own claims, which the CRDT
/// merge must not rewrite, and every member resolves them the same way. A
/// LEAVING instance loses a token to one that is not leaving; otherwise the
/// smaller instance ID keeps it. The loser finds its lost tokens with
/// `conflictedTokens(of:)` and replaces them.
package struct RingSnapshot: Sendable {
    /// Live entries, sorted by ID.
    package let members: [InstanceDesc]
    private let memberIndex: [String: Int]
    /// Every owned token, sorted and unique.
    package let tokens: [UInt32]
    /// `owners[i]` indexes `members`: the owner of `tokens[i]`.
    private let owners: [Int]
    private let lostTokens: [String: [UInt32]]
    /// The zones of members that own tokens, sorted.
    package let zones: [String]
    /// Index into `zones` per member (-1 for a member without tokens).
    private let memberZone: [Int]
    /// Members owning at least one token, per zone.
    private let zoneSizes: [Int]

    package init(_ ring: RingDesc) {
        let members = ring.members
        self.members = members
        memberIndex = Dictionary(uniqueKeysWithValues: members.enumerated().map { ($0.element.id, $0.offset) })

        var claims: [(token: UInt32, member: Int)] = []
        claims.reserveCapacity(members.reduce(0) { $0 + $1.tokens.count })
        for (m, desc) in members.enumerated() {
            // Stored tokens should be sorted and unique; a bad peer's entry
            // must still not make an instance conflict with itself.
            var previous: UInt32?
            for token in desc.tokens.sorted() where token != previous {
                claims.append((token, m))
                previous = token
            }
        }
        // `members` is sorted by ID, so a smaller index is a smaller ID.
        let leaving = members.map { $0.state == .leaving }
        claims.sort { a, b in
            if a.token != b.token { return a.token < b.token }
            if leaving[a.member] != leaving[b.member] { return !leaving[a.member] }
            return a.member < b.member
        }
        var tokens: [UInt32] = []
        var owners: [Int] = []
        var lost: [String: [UInt32]] = [:]
        tokens.reserveCapacity(claims.count)
        owners.reserveCapacity(claims.count)
        for claim in claims {
            if let last = tokens.last, last == claim.token {
                lost[members[claim.member].id, default: []].append(claim.token)
            } else {
                tokens.append(claim.token)
                owners.append(claim.member)
            }
        }
        self.tokens = tokens
        self.owners = owners
        lostTokens = lost

        var owning = Array(repeating: false, count: members.count)
        for owner in owners { owning[owner] = true }
        let zones = Array(Set(members.indices.filter { owning[$0] }.map { members[$0].zone })).sorted()
        let zoneIndex = Dictionary(uniqueKeysWithValues: zones.enumerated().map { ($0.element, $0.offset) })
        var memberZone = Array(repeating: -1, count: members.count)
        var zoneSizes = Array(repeating: 0, count: zones.count)
        for m in members.indices where owning[m] {
            let z = zoneIndex[members[m].zone]!
            memberZone[m] = z
            zoneSizes[z] += 1
        }
        self.zones = zones
        self.memberZone = memberZone
        self.zoneSizes = zoneSizes
    }

    package func member(_ id: String) -> InstanceDesc? {
        memberIndex[id].map { members[$0] }
    }

    /// Tokens `id` claims but another instance holds; empty when none (or
    /// when `id` is not in the ring).
    package func conflictedTokens(of id: String) -> [UInt32] {
        lostTokens[id] ?? []
    }

    /// Index in `tokens` of the first token strictly greater than `hash`,
    /// wrapping to 0; nil for a ring without tokens.
    private func firstTokenIndex(after hash: UInt32) -> Int? {
        tokens.isEmpty ? nil : Self.firstIndex(after: hash, in: tokens)
    }

    /// The lookup rule over any sorted, non-empty token list (a zone's, for
    /// shuffle sharding): the index of the first token strictly greater than
    /// `point`, wrapping to 0.
    static func firstIndex(after point: UInt32, in tokens: [UInt32]) -> Int {
        var low = 0
        var high = tokens.count
        while low < high {
            let mid = low + (high - low) / 2
            if tokens[mid] <= point { low = mid + 1 } else { high = mid }
        }
        return low == tokens.count ? 0 : low
    }

    /// The instance that owns `hash`: the holder of the first token strictly
    /// greater than it, wrapping around.
    package func owner(ofHash hash: UInt32) -> InstanceDesc? {
        firstTokenIndex(after: hash).map { members[owners[$0]] }
    }

    /// The replicas of `hash`: walking clockwise from its owner, the first
    /// `replicationFactor` distinct instances, or with `zoneAware` the first
    /// instance of each zone (at most `replicationFactor` of them). A ring
    /// with fewer eligible instances gives what it has. Read-only instances
    /// are passed over for `.write`. Health is judged at `now` (Unix ms).
    package func replicationSet(
        forHash hash: UInt32, replicationFactor: Int, zoneAware: Bool, now: Int64, heartbeatTimeoutMillis: Int64,
        operation: RingOperation
    ) -> ReplicationSet {
        let factor = Swift.max(0, replicationFactor)
        var chosen: [Int] = []
        if factor > 0, let start = firstTokenIndex(after: hash) {
            chosen = walk(from: start, factor: factor, zoneAware: zoneAware, operation: operation)
        }
        let instances = chosen.map { members[$0] }
        let healthy = instances.filter {
            operation.accepts($0.state) && $0.isHeartbeatFresh(now: now, timeoutMillis: heartbeatTimeoutMillis)
        }
        return ReplicationSet(instances: instances, healthy: healthy, replicationFactor: factor)
    }

    private func walk(from start: Int, factor: Int, zoneAware: Bool, operation: RingOperation) -> [Int] {
        var chosen: [Int] = []
        var examined = Array(repeating: false, count: members.count)
        var examinedCount = 0
        let ownerCount = zoneSizes.reduce(0, +)
        // Zone-aware: a zone is done once it has its replica or every one of
        // its instances was examined; stopping when all zones are done keeps a
        // lookup with a whole zone down from scanning the entire ring.
        var zoneChosen = Array(repeating: false, count: zones.count)
        var zoneExamined = Array(repeating: 0, count: zones.count)
        var zonesDone = 0
        var i = start
        for _ in 0..<tokens.count {
            let m = owners[i]
            i = i + 1 == tokens.count ? 0 : i + 1
            let z = memberZone[m]
            if zoneAware && zoneChosen[z] { continue }
            if examined[m] { continue }
            examined[m] = true
            examinedCount += 1
            let eligible = !(operation.skipsReadOnly && members[m].readOnly)
            if eligible { chosen.append(m) }
            if zoneAware {
                zoneExamined[z] += 1
                if eligible { zoneChosen[z] = true }
                if eligible || zoneExamined[z] == zoneSizes[z] { zonesDone += 1 }
                if zonesDone == zones.count { break }
            } else if examinedCount == ownerCount {
                break
            }
            if chosen.count >= factor { break }
        }
        return chosen
    }

    /// The share of the 2^32 token space each member owns (members without
    /// tokens own 0). Without `zoneAware` the shares add up to 1 over the
    /// ring. With it, each member's share of its own zone's tokens, which is
    /// its share of the series when every series has one replica per zone;
    /// the shares then add up to 1 per zone (dskit's ring page does the same
    /// for zone-aware rings).
    package func ownership(zoneAware: Bool = false) -> [String: Double] {
        var owned = Array(repeating: UInt64(0), count: members.count)
        if zoneAware {
            var perZone = Array(repeating: [Int](), count: zones.count)
            for i in tokens.indices { perZone[memberZone[owners[i]]].append(i) }
            for indices in perZone { addRanges(of: indices, to: &owned) }
        } else {
            addRanges(of: Array(tokens.indices), to: &owned)
        }
        var shares: [String: Double] = [:]
        for (m, desc) in members.enumerated() { shares[desc.id] = Double(owned[m]) / 4_294_967_296.0 }
        return shares
    }

    /// Adds to each owner the range its token closes, `[previous, token)`,
    /// over the ring made of `indices` (positions in `tokens`, ascending).
    private func addRanges(of indices: [Int], to owned: inout [UInt64]) {
        guard let last = indices.last else { return }
        var previous = UInt64(tokens[last])
        for (n, i) in indices.enumerated() {
            let token = UInt64(tokens[i])
            // The first token's range wraps past 2^32; a lone token owns it all.
            owned[owners[i]] += n == 0 ? token + (1 << 32) - previous : token - previous
            previous = token
        }
    }

    /// What the ring page shows for `id` at `now`; nil when `id` is not a member.
    package func health(of id: String, now: Int64, timeoutMillis: Int64) -> DisplayState? {
        member(id).flatMap { DisplayState($0, now: now, heartbeatTimeoutMillis: timeoutMillis) }
    }
}
