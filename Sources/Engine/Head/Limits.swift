import Formats

/// Per-tenant limits. Zero disables a limit.
public struct TenantLimits: Sendable, Equatable {
    public var maxSeries: Int
    public var maxSeriesPerMetric: Int
    public var maxLabelNamesPerSeries: Int
    public var maxLabelNameLength: Int
    public var maxLabelValueLength: Int
    /// Samples per second, and the burst a request may use at once.
    public var ingestionRate: Double
    public var ingestionBurst: Int
    /// How far behind the newest sample out-of-order samples are accepted (ms).
    public var outOfOrderWindow: Int64
    /// How far ahead of the wall clock a sample may be (ms).
    public var creationGracePeriod: Int64
    /// How far behind the wall clock a sample may be (ms). The head refuses
    /// samples far behind its newest one, but an empty head has no newest: this
    /// bounds what a fresh tenant accepts.
    public var pastGracePeriod: Int64

    public init(
        maxSeries: Int = 2_000_000, maxSeriesPerMetric: Int = 500_000,
        maxLabelNamesPerSeries: Int = 30, maxLabelNameLength: Int = 1024,
        maxLabelValueLength: Int = 2048, ingestionRate: Double = 10_000_000,
        ingestionBurst: Int = 20_000_000, outOfOrderWindow: Int64 = 0,
        creationGracePeriod: Int64 = 10 * 60 * 1000, pastGracePeriod: Int64 = TenantLimits.defaultPastGracePeriod
    ) {
        self.maxSeries = maxSeries
        self.maxSeriesPerMetric = maxSeriesPerMetric
        self.maxLabelNamesPerSeries = maxLabelNamesPerSeries
        self.maxLabelNameLength = maxLabelNameLength
        self.maxLabelValueLength = maxLabelValueLength
        self.ingestionRate = ingestionRate
        self.ingestionBurst = ingestionBurst
        self.outOfOrderWindow = outOfOrderWindow
        self.creationGracePeriod = creationGracePeriod
        self.pastGracePeriod = pastGracePeriod
    }

    /// A year: old enough for any late or re-sent data a fresh tenant may get,
    /// tight enough to refuse timestamps in the wrong unit or garbage.
    public static let defaultPastGracePeriod: Int64 = 365 * 86_400_000

}

/// Why a sample was not stored. Raw values are the stable identifiers used in
/// metrics labels and error messages.
public enum RejectionReason: String, Sendable, CaseIterable, Comparable {
    case outOfOrder = "sample-out-of-order"
    case tooOld = "sample-timestamp-too-old"
    case duplicateTimestamp = "sample-duplicate-timestamp"
    case tooFarInFuture = "sample-too-far-in-future"
    case tooFarInPast = "sample-too-far-in-past"
    case maxSeries = "max-series-per-tenant"
    case maxSeriesPerMetric = "max-series-per-metric"
    case maxLabelNames = "max-label-names-per-series"
    case labelNameTooLong = "label-name-too-long"
    case labelValueTooLong = "label-value-too-long"
    /// The head's 32-bit label index has no room for another series.
    case headIndexFull = "head-index-full"

    public static func < (a: RejectionReason, b: RejectionReason) -> Bool { a.rawValue < b.rawValue }
}

/// The first rejected sample of a request, for the error message.
public struct Rejection: Sendable, Equatable, CustomStringConvertible {
    public var reason: RejectionReason
    public var labels: Labels
    public var timestamp: Int64
    public var detail: String

    public var description: String {
        "\(reason.rawValue): \(detail) (series \(labels), timestamp \(timestamp))"
    }
}

/// The whole request was refused before anything was stored (HTTP 429).
public struct RateLimitedError: Error, Sendable, CustomStringConvertible {
    public var tenant: String
    public var limit: Double
    public var burst: Int
    public var description: String {
        "ingestion rate limit of \(Int(limit)) samples/s (burst \(burst)) exceeded for tenant \(tenant)"
    }
}

/// Token bucket: refills at `rate` per second up to `burst`.
struct TokenBucket {
    var tokens: Double
    var last: Double

    init(burst: Int, now: Double) {
        tokens = Double(burst)
        last = now
    }

    mutating func take(_ n: Int, rate: Double, burst: Int, now: Double) -> Bool {
        tokens = min(Double(burst), tokens + max(0, now - last) * rate)
        last = now
        guard Double(n) <= tokens else { return false }
        tokens -= Double(n)
        return true
    }
}
