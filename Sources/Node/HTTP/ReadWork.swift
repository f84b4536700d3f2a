import Dispatch
import Engine

/// Reads decode chunks and read block files: that work runs on a Dispatch
/// thread, not on Swift's cooperative pool, which must never block.
enum ReadWork {
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
        }
    }

    /// A refused read as an HTTP failure: a limit is the client's to narrow
    /// (400, as Prometheus answers its sample limit), a timeout is 503.
    static func failure(_ error: ReadLimitError) -> HTTPFailure {
        error == .timeout ? HTTPFailure(.unavailable, "\(error)") : HTTPFailure(.badRequest, "\(error)")
    }

    /// The `reason` label of `muninn_read_refused_total`.
    static func reason(_ error: ReadLimitError) -> String {
        switch error {
        case .tooManySeries: "series-limit"
        case .tooManySamples: "sample-limit"
        case .responseTooLarge: "bytes-limit"
        case .timeout: "timeout"
        }
    }
}
