import Engine
import Foundation
import Metrics
import Synchronization

/// Node-wide limits, as Mimir's ingester instance limits: what one process can
/// hold whatever the tenants' own limits say. A request over one is answered
/// 503 with the limit named (retryable: another replica or a later try may
/// succeed) and counted in `muninn_instance_limit_rejections_total{limit}`.
final class InstanceLimiter: Sendable {
    let limits: NodeConfig.InstanceLimits
    private let inflightRequests = Atomic<Int>(0)
    private let inflightBytes = Atomic<Int>(0)
    private let rate: Mutex<TokenBucketState>
    /// Head series of every tenant, summed at most once a second (a sum per
    /// request would take every tenant's head lock).
    private let seriesTotal = Mutex<(value: Int, at: ContinuousClock.Instant?)>((0, nil))

    private struct TokenBucketState { var tokens: Double; var last: ContinuousClock.Instant }
    /// Made once: a metric looked up by label costs a registry lock per push.
    /// The metrics backend must be bootstrapped before (`NodeMetrics` does it).
    private let requestsGauge = Gauge(label: "muninn_inflight_push_requests")
    private let bytesGauge = Gauge(label: "muninn_inflight_push_bytes")

    init(_ limits: NodeConfig.InstanceLimits) {
        self.limits = limits
        rate = Mutex(TokenBucketState(tokens: Double(limits.maxIngestionRate), last: .now))
    }

    /// Push requests admitted and not yet answered.
    var pushesInFlight: Int { inflightRequests.load(ordering: .relaxed) }

    /// Counts a push as in flight. Every call is paired with one
    /// `finishPush()` (a `defer` right after it); `checkPushes` then refuses it
    /// when over the limit.
    func startPush() {
        inflightRequests.wrappingAdd(1, ordering: .relaxed)
        publish()
    }

    func finishPush() {
        inflightRequests.wrappingSubtract(1, ordering: .relaxed)
        publish()
    }

    func checkPushes() throws(HTTPFailure) {
        let limit = limits.maxInflightPushRequests
        if limit > 0, inflightRequests.load(ordering: .relaxed) > limit {
            throw refuse("max-inflight-push-requests", "this node has \(limit) push requests in flight")
        }
    }

    /// Counts body bytes in flight; paired with `removePushBytes` as `startPush` is.
    func addPushBytes(_ n: Int) { inflightBytes.wrappingAdd(n, ordering: .relaxed) }

    func removePushBytes(_ n: Int) { inflightBytes.wrappingSubtract(n, ordering: .relaxed) }

    func checkPushBytes() throws(HTTPFailure) {
        let limit = limits.maxInflightPushBytes
        if limit > 0, inflightBytes.load(ordering: .relaxed) > limit {
            throw refuse("max-inflight-push-bytes", "this node holds more than \(limit) bytes of push requests in flight")
        }
    }

    /// Checks the limits that depend on what a push would add.
    func checkIngest(samples: Int, tenant: String, databases: Databases) throws(HTTPFailure) {
        if limits.maxTenants > 0, databases.existing(tenant) == nil, databases.tenants.count >= limits.maxTenants {
            throw refuse("max-tenants", "this node already holds \(limits.maxTenants) tenants")
        }
        if limits.maxSeries > 0, series(databases) >= limits.maxSeries {
            throw refuse("max-series", "this node holds \(limits.maxSeries) series")
        }
        if limits.maxIngestionRate > 0 {
            let rate = Double(limits.maxIngestionRate)
            let ok = self.rate.withLock { state -> Bool in
                let now = ContinuousClock.now
                let elapsed = now - state.last
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
                state.tokens = min(rate, state.tokens + seconds * rate)
                state.last = now
                guard Double(samples) <= state.tokens else { return false }
                state.tokens -= Double(samples)
                return true
            }
            if !ok { throw refuse("max-ingestion-rate", "this node takes at most \(limits.maxIngestionRate) samples/s") }
        }
    }

    private func series(_ databases: Databases) -> Int {
        let now = ContinuousClock.now
        if let cached = seriesTotal.withLock({ s in s.at.map { now - $0 < .seconds(1) } == true ? s.value : nil }) {
            return cached
        }
        var total = 0
        for tenant in databases.tenants { total &+= databases.existing(tenant)?.head.seriesCount ?? 0 }
        seriesTotal.withLock { $0 = (total, now) }
        return total
    }

    private func refuse(_ limit: String, _ reason: String) -> HTTPFailure {
        Counter(label: "muninn_instance_limit_rejections_total", dimensions: [("limit", limit)]).increment()
        return HTTPFailure(.unavailable, "instance limit \(limit) reached: \(reason); retry later", retryAfter: 1)
    }

    private func publish() {
        requestsGauge.record(inflightRequests.load(ordering: .relaxed))
        bytesGauge.record(inflightBytes.load(ordering: .relaxed))
    }
}
