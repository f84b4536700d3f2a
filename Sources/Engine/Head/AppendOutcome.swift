import Formats

/// What a commit did with each sample.
public struct AppendOutcome: Sendable, Equatable {
    /// Samples stored (in order or out of order).
    public var accepted = 0
    /// Of those, samples stored as out-of-order.
    public var outOfOrder = 0
    /// Exact repeats of a stored sample (same time and value): harmless, not stored.
    public var duplicatesIgnored = 0
    public var rejected: [RejectionReason: Int] = [:]
    /// The first rejected sample, for the error message.
    public var firstRejection: Rejection?
    /// Per batch entry, the series ref (0 when the series was not created).
    public var refs: [UInt64] = []
    public var seriesCreated = 0

    public var rejectedCount: Int { rejected.values.reduce(0, +) }

    public init() {}
}

/// A batch entry named a ref this head never handed out (or that was removed).
public struct UnknownSeriesRefError: Error, CustomStringConvertible {
    public var ref: UInt64
    public var description: String { "unknown series ref \(ref)" }
}
