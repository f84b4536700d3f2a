/// A request's series could not all be written: one of them has fewer
/// healthy replicas than its quorum, so the request fails before anything is
/// sent (dskit's ring `Get` refuses the key; cluster.md §2.3). A retryable
/// server-side condition: the distributor answers 5xx.
package struct InsufficientReplicasError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The first series (index into the request) that cannot reach quorum.
    package let series: Int
    package let required: Int
    package let live: Int
    package let zoneAware: Bool
    /// IDs of the series' replicas that are down or not ACTIVE.
    package let unhealthy: [String]

    package var description: String {
        var text = "at least \(required) live replicas required"
        if zoneAware { text += " across different availability zones" }
        text += ", could only find \(live)"
        if !unhealthy.isEmpty { text += " - unhealthy instances: " + unhealthy.joined(separator: ",") }
        return text
    }
}

/// A push split by ingester, as dskit's `DoBatchWithOptions` does it for the
/// distributor (cluster.md §2.3): every series goes to each healthy replica of
/// its hash, and each ingester gets one batch with only its own series.
///
/// Per series the quorum is floor(max(RF, replicas)/2)+1, counting unhealthy
/// replicas (they are in the set, so a down ingester costs the series a
/// vote), and the failures it can absorb are healthy replicas minus quorum.
/// Planning is pure: the caller sends the targets' batches and feeds each
/// answer to a `QuorumTracker`.
package struct WriteBatch: Sendable {
    /// One ingester's share of the request.
    package struct Target: Sendable, Equatable {
        package let instance: InstanceDesc
        /// Indexes into the request's series, ascending.
        package fileprivate(set) var series: [Int]
    }

    /// Per ingester, in order of first appearance in the request.
    package let targets: [Target]
    /// Per series: successes that make it written.
    package let minSuccess: [Int32]
    /// Per series: failures of one family it can absorb.
    package let maxFailures: [Int32]
    /// Per series: healthy replicas, the batches that will answer for it.
    package let replicas: [Int32]

    /// Plans the write of series with tokens `hashes` (in request order) on
    /// `ring`, the tenant's write shard, at `now` (Unix ms). Throws for the
    /// first series that cannot reach its quorum, naming its down replicas.
    package init(
        hashes: some Sequence<UInt32>, ring: RingSnapshot, replicationFactor: Int, zoneAware: Bool, now: Int64,
        heartbeatTimeoutMillis: Int64
    ) throws(InsufficientReplicasError) {
        var targets: [Target] = []
        var targetIndex: [String: Int] = [:]
        var minSuccess: [Int32] = []
        var maxFailures: [Int32] = []
        var replicas: [Int32] = []
        for (series, hash) in hashes.enumerated() {
            let set = ring.replicationSet(
                forHash: hash, replicationFactor: replicationFactor, zoneAware: zoneAware, now: now,
                heartbeatTimeoutMillis: heartbeatTimeoutMillis, operation: .write)
            guard set.hasQuorum else {
                let healthy = Set(set.healthy.map(\.id))
                throw InsufficientReplicasError(
                    series: series, required: set.quorum, live: set.healthy.count, zoneAware: zoneAware,
                    unhealthy: set.instances.map(\.id).filter { !healthy.contains($0) })
            }
            // A set holds at most one entry per instance, so these are small.
            minSuccess.append(Int32(set.quorum))
            maxFailures.append(Int32(set.maxErrors))
            replicas.append(Int32(set.healthy.count))
            for instance in set.healthy {
                if let t = targetIndex[instance.id] {
                    targets[t].series.append(series)
                } else {
                    targetIndex[instance.id] = targets.count
                    targets.append(Target(instance: instance, series: [series]))
                }
            }
        }
        self.targets = targets
        self.minSuccess = minSuccess
        self.maxFailures = maxFailures
        self.replicas = replicas
    }

    package var seriesCount: Int { minSuccess.count }
}
