import Engine
import Foundation
import HTTPTypes
import Logging
import NIOPosix

/// What every request handler needs: the node's phase and its databases.
/// Handlers answer 503 unless the node is running.
final class NodeState: @unchecked Sendable {
    enum Phase: String, Sendable { case starting, running, stopping }

    private let lock = NSLock()
    private var lockedPhase = Phase.starting
    private var lockedDatabases: Databases?
    let config: NodeConfig
    let metrics: NodeMetrics
    let logger: Logger
    let access: Access
    let limiter: InstanceLimiter
    /// Threads for appends: a commit waits on the head lock and, with
    /// `fsync: always`, on an fsync; neither may hold a cooperative thread.
    let ingestPool: NIOThreadPool
    /// Threads for block writes and maintenance: separate, so a flush never
    /// delays appends or queries.
    let backgroundPool: NIOThreadPool
    /// Threads for queries, which take the head's and blocks' locks and may
    /// run long.
    let queryPool: NIOThreadPool
    /// Set by `POST /ingester/shutdown`: stop admitting, flush, then stop the process.
    let shutdownRequested = AsyncSignal()
    /// The ring store and this node's lifecycler.
    let cluster: ClusterMembership

    init(config: NodeConfig, metrics: NodeMetrics, logger: Logger, credentials: TenantCredentials? = nil) {
        self.config = config
        self.metrics = metrics
        self.logger = logger
        access = Access(multitenancy: config.multitenancy, adminToken: config.server.adminToken, credentials: credentials)
        limiter = InstanceLimiter(config.instanceLimits)
        cluster = ClusterMembership(config: config, logger: logger)
        ingestPool = NIOThreadPool(numberOfThreads: 8)
        backgroundPool = NIOThreadPool(numberOfThreads: 2)
        queryPool = NIOThreadPool(numberOfThreads: 4)
        ingestPool.start()
        backgroundPool.start()
        queryPool.start()
    }

    /// The tenant a data request is for (see `Access`).
    func tenant(from headers: HTTPFields) async throws -> String {
        try await access.tenant(headers, pool: ingestPool)
    }

    /// Runs blocking work on a dedicated pool and awaits its result. Work
    /// still queued when the awaiting task is cancelled does not run.
    func offload<T: Sendable>(_ pool: NIOThreadPool, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.runIfActive(body)
    }

    /// As `offload`, but the work runs even if the awaiting task is cancelled:
    /// for closing the storage, which must happen however shutdown goes.
    func offloadToCompletion<T: Sendable>(_ pool: NIOThreadPool, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            pool.submit { state in
                switch state {
                case .active: continuation.resume(with: Result(catching: body))
                case .cancelled: continuation.resume(throwing: CancellationError())
                }
            }
        }
    }

    var phase: Phase {
        lock.lock(); defer { lock.unlock() }
        return lockedPhase
    }

    /// The databases while running; nil while starting or stopping.
    var databases: Databases? {
        lock.lock(); defer { lock.unlock() }
        return lockedPhase == .running ? lockedDatabases : nil
    }

    func started(_ dbs: Databases) {
        lock.lock(); lockedDatabases = dbs; lockedPhase = .running; lock.unlock()
    }

    /// Stops admitting requests; returns the databases for closing.
    func stopping() -> Databases? {
        lock.lock(); defer { lock.unlock() }
        lockedPhase = .stopping
        return lockedDatabases
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
