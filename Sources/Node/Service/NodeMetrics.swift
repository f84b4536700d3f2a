import Engine
import Foundation
import Metrics
import Prometheus

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
            .milliseconds(50), .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5),
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

    func blocksCut(_ n: Int) { Counter(label: "muninn_blocks_cut_total").increment(by: n) }

    func maintenanceFailures(_ n: Int) { Counter(label: "muninn_maintenance_failures_total").increment(by: n) }

    /// Samples engine state into gauges, then renders every metric.
    func render(_ databases: Databases?) -> [UInt8] {
        if let databases {
            for tenant in databases.tenants {
                guard let db = databases.existing(tenant) else { continue }
                Gauge(label: "muninn_head_series", dimensions: [("tenant", tenant)]).record(db.head.seriesCount)
                let wal = db.walStats
                Gauge(label: "muninn_wal_written_bytes", dimensions: [("tenant", tenant)]).record(Int(wal.bytesWritten))
                Gauge(label: "muninn_wal_fsyncs", dimensions: [("tenant", tenant)]).record(Int(wal.fsyncs))
                Gauge(label: "muninn_wal_fsync_seconds_sum", dimensions: [("tenant", tenant)]).record(wal.fsyncSeconds)
                Gauge(label: "muninn_local_blocks", dimensions: [("tenant", tenant)]).record(db.blockMetas.count)
                if let stats = databases.shipperStats(tenant) {
                    Gauge(label: "muninn_shipper_uploads", dimensions: [("tenant", tenant)]).record(Int(stats.uploads))
                    Gauge(label: "muninn_shipper_upload_failures", dimensions: [("tenant", tenant)]).record(Int(stats.uploadFailures))
                }
            }
        }
        var out: [UInt8] = []
        registry.emit(into: &out)
        return out
    }
}

/// An HTTP error with the reason for the client.
struct HTTPFailure: Error, CustomStringConvertible {
    enum Status: Int { case badRequest = 400, unauthorized = 401, notFound = 404, methodNotAllowed = 405,
                       payloadTooLarge = 413, unsupportedMediaType = 415, tooManyRequests = 429,
                       internalError = 500, unavailable = 503 }
    var status: Status
    var message: String
    init(_ status: Status, _ message: String) {
        self.status = status
        self.message = message
    }
    var description: String { message }
}
