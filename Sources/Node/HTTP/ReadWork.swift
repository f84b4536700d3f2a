import Formats

/// Reads decode chunks and read block files: that work runs on the node's
/// query pool, not on Swift's cooperative pool, which must never block; the
/// pool's size also bounds how many reads run at once (others queue).
enum ReadWork {
    static func run<T: Sendable>(_ state: NodeState, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await state.offload(state.queryPool, body)
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
