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

    /// The tenant a request is for: X-Scope-OrgID, or `anonymous` with
    /// multi-tenancy off.
    func tenant(from header: String?) throws(HTTPFailure) -> String {
        guard config.multitenancy else { return "anonymous" }
        guard let id = header, !id.isEmpty else {
            throw HTTPFailure(.unauthorized, "no tenant: the X-Scope-OrgID header is required")
        }
        do { try TenantID.validate(id) } catch { throw HTTPFailure(.badRequest, "invalid tenant ID: \(error)") }
        return id
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
