import Engine
import Foundation
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
        let dbs = try Databases(dataDirectory: config.storage.dataDir, options: try config.databaseOptions(),
                                limitOverrides: config.limitOverrides,
                                logger: state.logger)
        state.started(dbs)
        state.logger.info("node ready", metadata: ["tenants": "\(dbs.tenants.count)",
                                                   "http": "\(config.server.httpAddress):\(config.server.httpPort)"])
        try? await gracefulShutdown()
        _ = state.stopping()
        if config.storage.flushOnShutdown {
            do { _ = try dbs.flushAll() } catch { state.logger.error("flush on shutdown failed", metadata: ["error": "\(error)"]) }
        }
        try dbs.close()
        state.logger.info("storage closed")
    }
}

/// Runs the maintenance pass (block cuts, idle flush, shipping, retention) at
/// an interval until shutdown.
struct MaintenanceService: Service {
    let state: NodeState

    func run() async throws {
        let interval = state.config.storage.maintenanceIntervalSeconds
        let bucket: (any ObjectStore)? = state.config.storage.shipping
            ? try FilesystemBucket(root: state.config.storage.bucketDir) : nil
        // Cancelled too, not only shut down gracefully: after /ingester/shutdown
        // the group cancels its services, and a cancelled sleep returns at once,
        // so this loop would spin and the process never exit.
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(interval)) }
            guard !Task.isShuttingDownGracefully, let dbs = state.databases else { continue }
            let report = await Task.detached { dbs.maintain(bucket: bucket) }.value
            state.metrics.blocksCut(report.blocksWritten)
            state.metrics.maintenanceFailures(report.failures.count)
        }
    }
}

/// First to hear of shutdown (listed last): turns /ready and new pushes to 503
/// before the HTTP server starts draining, so clients retry elsewhere.
struct AdmissionService: Service {
    let state: NodeState

    func run() async throws {
        try? await gracefulShutdown()
        _ = state.stopping()
    }
}

/// Ends the process after `POST /ingester/shutdown` (which already flushed).
struct ShutdownRequestService: Service {
    let state: NodeState
    let group: @Sendable () async -> Void

    func run() async throws {
        await withTaskCancellationOrGracefulShutdownHandler {
            await state.shutdownRequested.wait()
        } onCancelOrGracefulShutdown: {
            state.shutdownRequested.fire()
        }
        if state.phase != .stopping { await group() }
        // Returning before the group reaches this service in its shutdown order
        // counts as finishing unexpectedly (the process would exit 1).
        try? await gracefulShutdown()
    }
}
