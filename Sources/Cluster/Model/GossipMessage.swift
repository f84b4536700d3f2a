/// What members of the gossip cluster send each other over their persistent
/// connections. The byte layout is in docs/format/gossip.md.
package struct GossipMessage: Sendable, Equatable {
    package enum Kind: UInt8, Sendable, CaseIterable {
        /// Changed ring entries, passed on a few times to random members.
        case delta = 1
        /// Full state (ring and member list); the receiver merges it and
        /// answers with `pushPullReply` carrying its own full state.
        case pushPull = 2
        case pushPullReply = 3
        /// Confirms that the message numbered `sequence` was merged.
        case ack = 4
        /// The sender stops: drop it from the member list (its ring entry is
        /// removed by a `delta` carrying its tombstone).
        case goodbye = 5
    }

    /// A gossip peer: its name (the instance ID) and the address its gossip
    /// listener is reachable at.
    package struct Peer: Sendable, Equatable, Hashable {
        package var name: String
        package var address: String

        package init(name: String, address: String) {
            self.name = name
            self.address = address
        }
    }

    package var kind: Kind
    package var sender: Peer
    /// Nonzero when the sender wants an `ack` naming this number.
    package var sequence: UInt64
    package var ring: RingDesc
    /// Members the sender knows (full-state messages only).
    package var peers: [Peer]

    package init(kind: Kind, sender: Peer, sequence: UInt64 = 0, ring: RingDesc = RingDesc(), peers: [Peer] = []) {
        self.kind = kind
        self.sender = sender
        self.sequence = sequence
        self.ring = ring
        self.peers = peers
    }
}
