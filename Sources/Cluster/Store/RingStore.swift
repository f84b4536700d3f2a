import NIOConcurrencyHelpers

/// Where the ring lives: a single process's memory (`inmemory`, the
/// single-node default), gossip between members (`memberlist`), later etcd.
///
/// Writers publish whole entries; the store merges them with `RingDesc.merge`
/// (an entry wins when it is newer in `InstanceDesc.precedes` order), which
/// is the compare-and-swap of a CRDT: there is no lost update to retry.
package protocol RingStore: Sendable {
    /// The current ring as this member sees it.
    func snapshot() -> RingDesc
    /// Merges `entries` into the ring and spreads what changed; returns it.
    @discardableResult
    func publish(_ entries: [InstanceDesc]) -> RingDesc?
    /// Publishes `entries` and waits, at most `timeoutMillis`, until every
    /// live member has confirmed it merged them, asking again those that did
    /// not answer. Returns how many confirmed out of how many were asked.
    func publishConfirmed(_ entries: [InstanceDesc], timeoutMillis: Int64) async -> (confirmed: Int, asked: Int)
    /// Periodic housekeeping: tombstones older than the retention become
    /// graves (`RingDesc.collect`).
    func collect(now: Int64)
}

/// The ring of a node that is alone.
package final class InMemoryRingStore: RingStore {
    private let ring = NIOLockedValueBox(RingDesc())
    let retention: TombstoneRetention

    package init(retention: TombstoneRetention = TombstoneRetention()) {
        self.retention = retention
    }

    package func snapshot() -> RingDesc { ring.withLockedValue { $0 } }

    package func publish(_ entries: [InstanceDesc]) -> RingDesc? {
        ring.withLockedValue { $0.merge(RingDesc(entries)) }
    }

    package func publishConfirmed(_ entries: [InstanceDesc], timeoutMillis: Int64) async -> (confirmed: Int, asked: Int) {
        publish(entries)
        return (0, 0)
    }

    package func collect(now: Int64) {
        ring.withLockedValue {
            $0.collect(now: now, tombstoneMillis: retention.tombstoneMillis, graveMillis: retention.graveMillis, maxGraves: retention.maxGraves)
        }
    }
}

/// How long removals are remembered: tombstones (full entries, gossiped)
/// and then graves (id and generation only).
package struct TombstoneRetention: Sendable {
    /// dskit's `-memberlist.left-ingesters-timeout` default.
    package var tombstoneMillis: Int64 = 5 * 60_000
    package var graveMillis: Int64 = 7 * 24 * 3_600_000
    package var maxGraves = 10_000

    package init() {}
}
