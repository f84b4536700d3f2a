import Formats
import StorageTestSupport

@testable import Engine

/// What the suites that drive a bare `Head` share: a 2 h chunk range, no
/// series limits, commits without logs, and reads of everything stored.
protocol HeadSuite {}

extension HeadSuite {
    static var range: Int64 { 2 * 3_600_000 }
    static var limits: TenantLimits { TenantLimits(maxSeries: 0, maxSeriesPerMetric: 0, creationGracePeriod: 0) }

    func commit(_ head: Head, _ batch: AppendBatch) throws -> AppendOutcome {
        try head.commit(batch, limits: Self.limits, now: 0, wal: nil, wbl: nil).0
    }

    /// Samples per series of the head's series matching `matchers`.
    func values(_ head: Head, _ matchers: [LabelMatcher]) -> [Labels: [Sample]] {
        var out: [Labels: [Sample]] = [:]
        for s in head.select(matchers: matchers) { out[s.labels] = try? s.samples() }
        return out
    }

    /// Samples per series of everything a database holds.
    func stored(_ db: TenantDB) throws -> [Labels: [Sample]] {
        var out: [Labels: [Sample]] = [:]
        for s in try db.select(matchers: [try LabelMatcher(.regexMatch, "__name__", ".+")]) { out[s.labels] = try s.samples() }
        return out
    }
}
