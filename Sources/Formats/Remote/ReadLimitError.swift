/// Why a bounded read stopped; the caller's response is refused, nothing is stored or lost.
public enum ReadLimitError: Error, Equatable, Sendable, CustomStringConvertible {
    /// More than `limit` series match.
    case tooManySeries(limit: Int)
    /// More than `limit` samples would be sent in one SAMPLES response.
    case tooManySamples(limit: Int)
    /// The uncompressed SAMPLES response would exceed `limit` bytes.
    case responseTooLarge(limit: Int)
    /// The read ran past its deadline.
    case timeout

    public var description: String {
        switch self {
        case let .tooManySeries(limit): "the query selects more than \(limit) series (limit read.maxSeries)"
        case let .tooManySamples(limit): "the response would hold more than \(limit) samples (limit read.maxSamples)"
        case let .responseTooLarge(limit): "the response would exceed \(limit) bytes (limit read.maxResponseBytes)"
        case .timeout: "the query ran past its timeout (read.timeoutSeconds)"
        }
    }
}
