/// Lifecycle states stored in a ring entry. The raw values are dskit's
/// `ring.proto` numbers, so the JSON and the ring page read like Mimir's.
/// UNHEALTHY is not stored: it is derived from a stale heartbeat.
package enum InstanceState: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case active = 0
    case leaving = 1
    case pending = 2
    case joining = 3
    /// Tombstone: the instance was removed (left or forgotten). Never shown.
    case left = 4

    package var description: String {
        switch self {
        case .active: "ACTIVE"
        case .leaving: "LEAVING"
        case .pending: "PENDING"
        case .joining: "JOINING"
        case .left: "LEFT"
        }
    }
}

/// One instance's entry in the ring. Only the instance itself writes it,
/// except a removal (LEFT), which any member may write for it (forget).
///
/// Times are Unix milliseconds (dskit uses seconds, and then has to sleep a
/// second to make two updates in one second distinguishable).
package struct InstanceDesc: Sendable, Equatable {
    package var id: String
    /// `host:port` of the instance's HTTP API.
    package var addr: String
    package var zone: String
    package var state: InstanceState
    /// Sorted and unique ring positions.
    package var tokens: [UInt32]
    /// Registration epoch: the Unix millisecond at which this incarnation of
    /// `id` registered, raised above any generation the instance has seen for
    /// itself. A removal is written at the removed entry's generation, and any
    /// entry at that generation or below is dead for good, whatever its
    /// heartbeat says and however late it arrives (see `RingDesc.merge`).
    package var generation: UInt64
    /// Last heartbeat.
    package var timestamp: Int64
    package var registeredTimestamp: Int64
    package var readOnly: Bool
    package var readOnlyUpdatedTimestamp: Int64

    package init(
        id: String, addr: String, zone: String = "", state: InstanceState, tokens: [UInt32] = [],
        generation: UInt64, timestamp: Int64, registeredTimestamp: Int64 = 0,
        readOnly: Bool = false, readOnlyUpdatedTimestamp: Int64 = 0
    ) {
        self.id = id
        self.addr = addr
        self.zone = zone
        self.state = state
        self.tokens = tokens
        self.generation = generation
        self.timestamp = timestamp
        self.registeredTimestamp = registeredTimestamp
        self.readOnly = readOnly
        self.readOnlyUpdatedTimestamp = readOnlyUpdatedTimestamp
    }

    /// Whether the heartbeat is recent enough for the entry to count as
    /// healthy at `now` (both Unix ms).
    package func isHeartbeatFresh(now: Int64, timeoutMillis: Int64) -> Bool {
        let (age, overflow) = now.subtractingReportingOverflow(timestamp)
        return !overflow && age <= timeoutMillis
    }

    /// The merge order: the entry that wins when two copies of the same
    /// instance meet. A total order, so merging is taking a maximum, which is
    /// commutative, associative and idempotent.
    /// 1. the newer generation (a re-registered instance beats its past);
    /// 2. at one generation a removal beats everything (so no heartbeat that
    ///    was in flight, and no peer that was partitioned, can undo it);
    /// 3. the newer heartbeat;
    /// 4. a fixed order over the remaining fields, so that two different
    ///    entries never compare equal.
    package static func precedes(_ a: InstanceDesc, _ b: InstanceDesc) -> Bool {
        if a.generation != b.generation { return a.generation < b.generation }
        let aLeft = a.state == .left
        let bLeft = b.state == .left
        if aLeft != bLeft { return bLeft }
        if a.timestamp != b.timestamp { return a.timestamp < b.timestamp }
        if a.state != b.state { return a.state.rawValue < b.state.rawValue }
        if a.readOnlyUpdatedTimestamp != b.readOnlyUpdatedTimestamp { return a.readOnlyUpdatedTimestamp < b.readOnlyUpdatedTimestamp }
        if a.readOnly != b.readOnly { return !a.readOnly }
        if a.registeredTimestamp != b.registeredTimestamp { return a.registeredTimestamp < b.registeredTimestamp }
        if a.addr != b.addr { return a.addr < b.addr }
        if a.zone != b.zone { return a.zone < b.zone }
        if a.tokens != b.tokens { return a.tokens.lexicographicallyPrecedes(b.tokens) }
        return a.id < b.id
    }

    /// The tombstone that removes this entry: same generation, no tokens.
    package func tombstone(now: Int64) -> InstanceDesc {
        InstanceDesc(
            id: id, addr: addr, zone: zone, state: .left, generation: generation,
            timestamp: Swift.max(now, timestamp), registeredTimestamp: registeredTimestamp)
    }
}
