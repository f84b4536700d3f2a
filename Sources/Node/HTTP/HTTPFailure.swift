/// An HTTP error with the reason for the client. Reasons never carry local
/// paths or internal details: those go to the log.
struct HTTPFailure: Error, CustomStringConvertible {
    enum Status: Int {
        case badRequest = 400, unauthorized = 401, forbidden = 403, notFound = 404,
            requestTimeout = 408, payloadTooLarge = 413, unsupportedMediaType = 415, tooManyRequests = 429,
            internalError = 500, unavailable = 503
    }
    var status: Status
    var message: String
    /// Seconds a client should wait before retrying (a `Retry-After` header).
    var retryAfter: Int?

    init(_ status: Status, _ message: String, retryAfter: Int? = nil) {
        self.status = status
        self.message = message
        self.retryAfter = retryAfter
    }

    var description: String { message }
}
