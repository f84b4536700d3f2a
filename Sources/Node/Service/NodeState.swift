import HTTPTypes
import Engine
import Foundation
import Logging

/// What every request handler needs: the node's phase and its databases.
/// Handlers answer 503 unless the node is running.
final class NodeState: @unchecked Sendable {
    enum Phase: String, Sendable { case starting, running, stopping }

    private let lock = NSLock()
    private var phase_ = Phase.starting
    private var databases_: Databases?
    let config: NodeConfig
    let metrics: NodeMetrics
    let logger: Logger
    /// Set by `POST /ingester/shutdown`: flush, then stop the process.
    let shutdownRequested = AsyncSignal()

    init(config: NodeConfig, metrics: NodeMetrics, logger: Logger) {
        self.config = config
        self.metrics = metrics
        self.logger = logger
    }

    var phase: Phase {
        lock.lock(); defer { lock.unlock() }
        return phase_
    }

    /// The databases while running; nil while starting or stopping.
    var databases: Databases? {
        lock.lock(); defer { lock.unlock() }
        return phase_ == .running ? databases_ : nil
    }

    func started(_ dbs: Databases) {
        lock.lock(); databases_ = dbs; phase_ = .running; lock.unlock()
    }

    /// Stops admitting requests; returns the databases for closing.
    func stopping() -> Databases? {
        lock.lock(); defer { lock.unlock() }
        phase_ = .stopping
        return databases_
    }

    /// The tenant a request is for: the X-Scope-OrgID header; without it, the
    /// username of HTTP basic auth (Prometheus sends `basic_auth` on both
    /// remote_write and remote_read, while some builds drop custom `headers`);
    /// `anonymous` with multi-tenancy off. Neither is authenticated: as with
    /// Mimir, an authenticating proxy belongs in front of the node.
    func tenant(from headers: HTTPFields) throws(HTTPFailure) -> String {
        guard config.multitenancy else { return "anonymous" }
        guard let id = headers[Self.orgIDHeader].flatMap({ $0.isEmpty ? nil : $0 }) ?? Self.basicAuthUser(headers[.authorization]) else {
            throw HTTPFailure(.unauthorized, "no tenant: send the X-Scope-OrgID header (or basic auth with the tenant as username)")
        }
        do { try TenantID.validate(id) } catch { throw HTTPFailure(.badRequest, "invalid tenant ID: \(error)") }
        return id
    }

    static let orgIDHeader = HTTPField.Name("X-Scope-OrgID")!

    /// The username of an `Authorization: Basic` header, if it has a non-empty one.
    static func basicAuthUser(_ authorization: String?) -> String? {
        guard let authorization, authorization.count > 6,
              authorization.prefix(6).lowercased() == "basic ",
              let decoded = Data(base64Encoded: String(authorization.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
              let text = String(data: decoded, encoding: .utf8) else { return nil }
        let user = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        return user.isEmpty ? nil : user
    }
}

/// A one-shot signal awaited by a service.
final class AsyncSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var fired = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func fire() {
        lock.lock()
        fired = true
        let w = waiters
        waiters = []
        lock.unlock()
        for c in w { c.resume() }
    }

    func wait() async {
        await withCheckedContinuation { c in
            lock.lock()
            if fired { lock.unlock(); c.resume(); return }
            waiters.append(c)
            lock.unlock()
        }
    }
}
