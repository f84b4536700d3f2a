import Engine
import Logging
import ServiceLifecycle

/// Opens (and replays) every tenant's database, marks the node running, and on
/// shutdown stops admitting requests, optionally flushes, and closes the logs.
/// Listed first in the service group, so it stops last: after the HTTP server
/// has drained.
struct StorageService: Service {
    let state: NodeState

    func run() async throws {
        let config = state.config
        let dbs = try Databases(
            dataDirectory: config.storage.dataDir, options: try config.databaseOptions(),
            limitOverrides: config.limitOverrides,
            logger: state.logger)
        state.started(dbs)
        state.logger.info(
            "node ready",
            metadata: [
                "tenants": "\(dbs.tenants.count)",
                "http": "\(config.server.httpAddress):\(config.server.httpPort)"
            ])
        try? await gracefulShutdown()
        _ = state.stopping()
        // File work runs on the background pool (after any maintenance pass in
        // progress there), and runs even if this task is cancelled past the
        // grace period, so the logs are always closed.
        let flush = config.storage.flushOnShutdown
        let logger = state.logger
        try await state.offloadToCompletion(state.backgroundPool) {
            if flush {
                do { _ = try dbs.flushAll() } catch { logger.error("flush on shutdown failed", metadata: ["error": "\(error)"]) }
            }
            try dbs.close()
        }
        state.logger.info("storage closed")
    }
}

/// Runs the maintenance pass (block cuts, idle flush, shipping, retention) at
/// an interval until shutdown.
struct MaintenanceService: Service {
    let state: NodeState

    func run() async throws {
        let interval = state.config.storage.maintenanceIntervalSeconds
        let bucket: (any ObjectStore)? =
            state.config.storage.shipping
            ? try FilesystemBucket(root: state.config.storage.bucketDir) : nil
        // Cancelled too, not only shut down gracefully (the group cancels its
        // services past the grace period): a cancelled sleep returns at once,
        // so this loop would spin and the process never exit.
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(interval)) }
            guard !Task.isShuttingDownGracefully, let dbs = state.databases else { continue }
            guard let report = try? await state.offload(state.backgroundPool, { dbs.maintain(bucket: bucket) }) else { continue }
            state.metrics.blocksCut(report.blocksWritten)
            state.metrics.maintenanceFailures(report.failures.count)
        }
    }
}

/// First to hear of shutdown (listed last): marks the node LEAVING in the
/// ring and turns /ready and new pushes to 503 before the HTTP server starts
/// draining, so clients retry elsewhere.
struct AdmissionService: Service {
    let state: NodeState

    func run() async throws {
        try? await gracefulShutdown()
        state.cluster.lifecycler.beginLeaving()
        _ = state.stopping()
    }
}

/// Returns when `POST /ingester/shutdown` has flushed (or when the node stops
/// for another reason); configured to shut the group down gracefully when it
/// returns.
struct ShutdownRequestService: Service {
    let state: NodeState

    func run() async throws {
        await withTaskCancellationOrGracefulShutdownHandler {
            await state.shutdownRequested.wait()
        } onCancelOrGracefulShutdown: {
            state.shutdownRequested.fire()
        }
    }
}
