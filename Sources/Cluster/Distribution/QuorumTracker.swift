/// How one ingester answered its batch.
package enum BatchOutcome: Sendable, Equatable {
    case success
    /// The ingester rejected the data (4xx: invalid, or over a limit): a
    /// replica that was up would say the same.
    case clientError
    /// The call failed (5xx, connection error, timeout): retryable.
    case serverError
}

/// The error family a failed push answers with.
package enum ErrorFamily: Sendable, Equatable {
    /// 4xx: the client's request is at fault; passed through.
    case client
    /// 5xx: retryable.
    case server
}

package enum QuorumDecision: Sendable, Equatable {
    /// Every series reached its quorum: the push is acknowledged.
    case succeeded
    /// Some series can no longer reach its quorum. `target` is the batch
    /// whose error to return: the one that decided, or for a series that ran
    /// out of replicas, the last one that failed for it.
    case failed(ErrorFamily, target: Int)
}

/// Counts the ingesters' answers to a `WriteBatch` per series, as dskit's
/// batch tracker does (`ring/batch.go`), and says when the push is decided.
///
/// A series is written once `minSuccess` of its replicas succeeded. Failures
/// are counted per family: a family with more than `maxFailures` fails the
/// push with that family, so a quorum of 4xx rejections is a 4xx. When a
/// series has heard from all its replicas without reaching quorum or a
/// family's limit (one success, one 4xx, one 5xx with RF 3), the push fails
/// with the last error seen for it, whichever family that is, as dskit does:
/// there is no quorum to blame the client.
///
/// Not thread-safe: one owner feeds it answers in the order they arrive. The
/// first decision is final; later answers change nothing (slower replicas
/// still finish their batches in the background).
package struct QuorumTracker: Sendable {
    private struct Series {
        var succeeded: Int32 = 0
        var failedClient: Int32 = 0
        var failedServer: Int32 = 0
        /// Replicas that have not answered, until the series is written.
        var remaining: Int32
        var lastError: (family: ErrorFamily, target: Int)?
    }

    private let batch: WriteBatch
    private var series: [Series]
    private var answered: [Bool]
    /// Series not yet written.
    private var pending: Int
    package private(set) var decision: QuorumDecision?

    package init(_ batch: WriteBatch) {
        self.batch = batch
        series = batch.replicas.map { Series(remaining: $0) }
        answered = Array(repeating: false, count: batch.targets.count)
        pending = batch.seriesCount
        // A push without series is trivially written.
        decision = pending == 0 ? .succeeded : nil
    }

    /// Records `target`'s answer (an index into `batch.targets`); returns the
    /// decision when this answer makes it, nil otherwise. An unknown target or
    /// a second answer from one target is ignored.
    @discardableResult
    package mutating func record(target: Int, _ outcome: BatchOutcome) -> QuorumDecision? {
        guard decision == nil, answered.indices.contains(target), !answered[target] else { return nil }
        answered[target] = true
        for s in batch.targets[target].series {
            if let failure = apply(outcome, target: target, to: s) {
                decision = failure
                return failure
            }
        }
        if pending == 0 {
            decision = .succeeded
            return .succeeded
        }
        return nil
    }

    /// Applies one answer to series `s`; returns a failure if it is now lost.
    private mutating func apply(_ outcome: BatchOutcome, target: Int, to s: Int) -> QuorumDecision? {
        let minSuccess = batch.minSuccess[s]
        switch outcome {
        case .success:
            series[s].succeeded += 1
            if series[s].succeeded == minSuccess {
                pending -= 1
                return nil
            }
            if series[s].succeeded < minSuccess {
                series[s].remaining -= 1
                if series[s].remaining == 0, let last = series[s].lastError {
                    return .failed(last.family, target: last.target)
                }
            }
            return nil
        case .clientError, .serverError:
            let family: ErrorFamily = outcome == .clientError ? .client : .server
            series[s].lastError = (family, target)
            let count: Int32
            if family == .client {
                series[s].failedClient += 1
                count = series[s].failedClient
            } else {
                series[s].failedServer += 1
                count = series[s].failedServer
            }
            if count > batch.maxFailures[s] { return .failed(family, target: target) }
            series[s].remaining -= 1
            if series[s].remaining == 0 { return .failed(family, target: target) }
            return nil
        }
    }
}
