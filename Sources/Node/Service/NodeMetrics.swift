import Cluster
import Engine
import Foundation
import Metrics
import Prometheus
import Synchronization

/// The node's own metrics, recorded through swift-metrics and exposed in the
/// Prometheus text format by swift-prometheus. Figures owned by the engine
/// (head series, WAL bytes, shipper counts) are read when /metrics is scraped.
final class NodeMetrics: Sendable {
    let registry: PrometheusCollectorRegistry

    private static let bootstrap: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(500), .milliseconds(1), .milliseconds(5), .milliseconds(10),
            .milliseconds(50), .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5)
        ]
        MetricsSystem.bootstrap(factory)
        return registry
    }()

    init() { registry = Self.bootstrap }

    func ingested(tenant: String, samples: Int) {
        Counter(label: "muninn_ingested_samples_total", dimensions: [("tenant", tenant)]).increment(by: samples)
    }

    func rejected(tenant: String, reason: String, samples: Int) {
        Counter(label: "muninn_rejected_samples_total", dimensions: [("tenant", tenant), ("reason", reason)]).increment(by: samples)
    }

    func request(route: String, status: Int, started: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - started
        Timer(label: "muninn_request_duration_seconds", dimensions: [("route", route), ("status", String(status))])
            .recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }

    func readRefused(route: String, reason: String) {
        Counter(label: "muninn_read_refused_total", dimensions: [("route", route), ("reason", reason)]).increment()
    }

    func blocksCut(_ n: Int) { Counter(label: "muninn_blocks_cut_total").increment(by: n) }

    func maintenanceFailures(_ n: Int) { Counter(label: "muninn_maintenance_failures_total").increment(by: n) }

    /// Samples engine and ring state into gauges and counters, then renders every metric.
    func render(_ databases: Databases?, cluster: ClusterMembership) -> [UInt8] {
        sample(cluster)
        if let databases {
            advance("muninn_tenant_open_failures_total", nil, to: databases.openFailures)
            Gauge(label: "muninn_unavailable_tenants").record(databases.unavailableTenants.count)
            for tenant in databases.tenants {
                guard let db = databases.existing(tenant) else { continue }
                Gauge(label: "muninn_head_series", dimensions: [("tenant", tenant)]).record(db.head.seriesCount)
                Gauge(label: "muninn_local_blocks", dimensions: [("tenant", tenant)]).record(db.blockMetas.count)
                let wal = db.walStats
                advance("muninn_wal_written_bytes_total", tenant, to: Int(wal.bytesWritten))
                advance("muninn_wal_fsyncs_total", tenant, to: Int(wal.fsyncs))
                let faults = db.storageFaults
                Gauge(label: "muninn_storage_write_failing", dimensions: [("tenant", tenant)]).record(faults.failing ? 1 : 0)
                advance("muninn_storage_write_failures_total", tenant, to: Int(faults.failures))
                if let stats = databases.shipperStats(tenant) {
                    advance("muninn_shipper_uploads_total", tenant, to: Int(stats.uploads))
                    advance("muninn_shipper_upload_failures_total", tenant, to: Int(stats.uploadFailures))
                }
            }
        }
        var out: [UInt8] = []
        registry.emit(into: &out)
        return out
    }

    /// The ring as this node sees it, and its gossip traffic.
    private func sample(_ cluster: ClusterMembership) {
        let now = Clock.nowMillis()
        let life = cluster.lifecycler.config
        let ring = RingSnapshot(cluster.store.snapshot())
        var byState: [DisplayState: Int] = [:]
        for desc in ring.members {
            if let shown = DisplayState(desc, now: now, heartbeatTimeoutMillis: life.heartbeatTimeoutMillis) { byState[shown, default: 0] += 1 }
        }
        for state in DisplayState.allCases {
            Gauge(label: "muninn_ring_members", dimensions: [("state", state.rawValue)]).record(byState[state] ?? 0)
        }
        Gauge(label: "muninn_ring_tokens_owned_ratio").record(ring.ownership(zoneAware: life.zoneAware)[life.instanceID] ?? 0)
        // How far behind the least recently heard-of ACTIVE member is: a
        // healthy ring stays under a couple of heartbeat periods plus the
        // gossip delay; a member that stopped without leaving grows it until
        // it is forgotten.
        var lag: Int64 = 0
        if let oldest = ring.members.filter({ $0.state == .active }).map(\.timestamp).min() {
            let (age, overflow) = now.subtractingReportingOverflow(oldest)
            lag = overflow ? 0 : Swift.max(0, age)
        }
        Gauge(label: "muninn_ring_oldest_active_heartbeat_age_seconds").record(Double(lag) / 1000)
        let stats = cluster.lifecycler.stats
        advance("muninn_ring_auto_forgotten_total", nil, to: stats.autoForgotten)
        advance("muninn_ring_auto_forget_blocked_total", nil, to: stats.autoForgetBlocked)
        Gauge(label: "muninn_ring_leave_confirmed").record(stats.leaveConfirmed)
        Gauge(label: "muninn_ring_leave_asked").record(stats.leaveAsked)
        guard let kv = cluster.memberlist else { return }
        let status = kv.status()
        advance("muninn_gossip_messages_sent_total", nil, to: status.transport.messagesSent)
        advance("muninn_gossip_messages_received_total", nil, to: status.transport.messagesReceived)
        advance("muninn_gossip_bytes_sent_total", nil, to: status.transport.bytesSent)
        advance("muninn_gossip_bytes_received_total", nil, to: status.transport.bytesReceived)
        advance("muninn_gossip_messages_dropped_total", nil, to: status.transport.messagesDropped)
        advance("muninn_gossip_invalid_messages_total", nil, to: status.transport.invalidMessages)
        advance("muninn_gossip_push_pulls_total", nil, to: status.pushPulls)
        advance("muninn_gossip_refused_total", nil, to: status.refused)
        let dead = status.members.filter(\.dead).count
        Gauge(label: "muninn_gossip_members", dimensions: [("state", "alive")]).record(status.members.count - dead)
        Gauge(label: "muninn_gossip_members", dimensions: [("state", "dead")]).record(dead)
        Gauge(label: "muninn_gossip_queued_changes").record(status.queuedChanges)
    }

    private let seen = Mutex<[String: Int]>([:])

    /// Engine figures are cumulative since their database opened: expose them
    /// as counters by adding what grew since the last scrape (a database that
    /// reopened restarts from zero, so its counter just waits to catch up).
    private func advance(_ label: String, _ tenant: String?, to value: Int) {
        let delta = seen.withLock { seen -> Int in
            let key = label + "\u{0}" + (tenant ?? "")
            let before = seen[key] ?? 0
            seen[key] = max(before, value)
            return max(0, value - before)
        }
        if delta > 0 { Counter(label: label, dimensions: tenant.map { [("tenant", $0)] } ?? []).increment(by: delta) }
    }
}
