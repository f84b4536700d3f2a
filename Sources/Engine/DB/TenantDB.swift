import Formats
import Foundation
import Logging

/// Options every tenant database shares.
public struct DatabaseOptions: Sendable {
    public var wal: WALOptions
    public var chunkRange: Int64
    public var limits: TenantLimits
    /// A tenant with no new sample for this long has its whole head written out.
    public var idleFlushTimeout: TimeInterval
    /// Local blocks are deleted this long after their end, once shipped.
    public var retention: Retention

    public init(
        wal: WALOptions = WALOptions(), chunkRange: Int64 = 2 * 3_600_000, limits: TenantLimits = TenantLimits(),
        idleFlushTimeout: TimeInterval = 3600, retention: Retention = Retention()
    ) {
        self.wal = wal
        self.chunkRange = chunkRange
        self.limits = limits
        self.idleFlushTimeout = idleFlushTimeout
        self.retention = retention
    }
}

/// One tenant's database: a head, its WAL (`wal/`) and out-of-order WBL (`wbl/`)
/// in `<data>/tsdb/<tenant>/`. Safe to use from many threads.
public final class TenantDB: @unchecked Sendable {
    public let tenant: String
    public let directory: String
    package let head: Head
    public let options: DatabaseOptions
    let logger: Logger
    let wal: WAL
    let wbl: WAL
    private let rateLock = NSLock()
    private var bucket: TokenBucket
    /// Guards `blocks` and `pending`; a query reads the head under it too, so
    /// data moving from head to block is never seen twice or missed.
    let stateLock = NSLock()
    /// Persisted blocks, ascending by minTime.
    var blocks: [BlockReader] = []
    /// Data taken out of the head whose block is not written yet, oldest first.
    var pending: [PendingBlock] = []
    /// Guards `lastAppend` alone: a cut holds `stateLock` while it splits a whole
    /// head into pending blocks (0.7 s for 1M series), and every append would
    /// wait that long just to record its time.
    let lastAppendLock = NSLock()
    var lastAppend = Date()
    /// One compaction at a time per tenant.
    let compactionLock = NSLock()
    /// When appends started failing on a storage fault (nil while they succeed),
    /// so the log says once when the condition starts and once when it clears.
    private let faultLock = NSLock()
    private var failingSince: Date?
    /// The wall clock in ms; tests replace it.
    var clock: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Opens the database, replaying checkpoint, WAL and WBL into a new head.
    public static func open(
        directory: String, tenant: String, options: DatabaseOptions,
        logger: Logger = Logger(label: "muninn.db")
    ) throws -> TenantDB {
        try Files.makeDirectory(directory)
        let blocks = try loadBlocks(directory, logger: logger)
        let head = Head(chunkRange: options.chunkRange)
        // Samples the blocks already hold are not replayed into the head again.
        head.minValidTime = blocks.map(\.meta.maxTime).max() ?? .min
        let (wal, wbl) = try replayLogs(into: head, directory: directory, tenant: tenant, options: options, logger: logger)
        let db = TenantDB(tenant: tenant, directory: directory, head: head, wal: wal, wbl: wbl, options: options, logger: logger)
        db.blocks = blocks
        return db
    }

    /// Opens every block directory (ULID-named) and removes leftovers of
    /// interrupted writes and deletions.
    static func loadBlocks(_ directory: String, logger: Logger) throws -> [BlockReader] {
        try Retention.sweepLeftovers(tenantDirectory: directory, logger: logger)
        var blocks: [BlockReader] = []
        for name in try Files.list(directory).sorted() {
            guard ULID(name) != nil else { continue }
            do {
                blocks.append(try BlockReader(directory: directory + "/" + name))
            } catch {
                logger.error("skipping unreadable block", metadata: ["block": "\(name)", "error": "\(error)"])
            }
        }
        return blocks.sorted { $0.meta.minTime < $1.meta.minTime }
    }

    private init(tenant: String, directory: String, head: Head, wal: WAL, wbl: WAL, options: DatabaseOptions, logger: Logger) {
        self.logger = logger
        self.tenant = tenant
        self.directory = directory
        self.head = head
        self.wal = wal
        self.wbl = wbl
        self.options = options
        bucket = TokenBucket(burst: options.limits.ingestionBurst, now: Date().timeIntervalSince1970)
    }

    /// Stores a batch. Returns per-sample outcomes; accepted samples are in the
    /// WAL (and with `fsync: always`, on disk) when this returns. Throws
    /// `RateLimitedError` (nothing stored) or `StorageFaultError` (the disk
    /// refused the write: nothing is acknowledged, retrying later is safe).
    public func append(_ batch: AppendBatch) throws -> AppendOutcome {
        let staged = try stage(batch)
        return try recordingFaults {
            if let p = staged.logged.wal { try wal.waitUntilDurable(p) }
            if let p = staged.logged.wbl { try wbl.waitUntilDurable(p) }
            storageSucceeded()
            return staged.outcome
        }
    }

    /// A commit whose records are written but maybe not yet durable.
    public struct StagedAppend: Sendable {
        public let outcome: AppendOutcome
        let logged: Head.Logged
    }

    /// The first half of an append for callers that must not block while an
    /// fsync runs (the node's HTTP handlers): validates, logs and applies the
    /// batch (blocking on the head lock); `durable(_:)` then waits, suspending,
    /// for the fsync the policy asks for. Nothing is acknowledged before
    /// `durable` returns.
    public func stage(_ batch: AppendBatch) throws -> StagedAppend {
        let (outcome, logged) = try recordingFaults { try commit(batch) }
        return StagedAppend(outcome: outcome, logged: logged)
    }

    /// Waits, suspending, until the staged commit is durable; returns its outcome.
    public func durable(_ staged: StagedAppend) async throws -> AppendOutcome {
        do {
            if let p = staged.logged.wal { try await wal.durable(p) }
            if let p = staged.logged.wbl { try await wbl.durable(p) }
            storageSucceeded()
            return staged.outcome
        } catch let fault as StorageFaultError {
            storageFailed(fault)
            throw fault
        }
    }

    /// Runs a step of an append, recording a storage fault it throws.
    private func recordingFaults<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let fault as StorageFaultError {
            storageFailed(fault)
            throw fault
        }
    }

    private func commit(_ batch: AppendBatch) throws -> (AppendOutcome, Head.Logged) {
        let limits = options.limits
        if limits.ingestionRate > 0 {
            rateLock.lock()
            let ok = bucket.take(
                batch.sampleCount, rate: limits.ingestionRate, burst: limits.ingestionBurst,
                now: Date().timeIntervalSince1970)
            rateLock.unlock()
            if !ok { throw RateLimitedError(tenant: tenant, limit: limits.ingestionRate, burst: limits.ingestionBurst) }
        }
        let (outcome, logged) = try head.commit(batch, limits: limits, now: clock(), wal: wal, wbl: wbl)
        if outcome.accepted > 0 {
            lastAppendLock.lock(); lastAppend = Date(); lastAppendLock.unlock()
        }
        return (outcome, logged)
    }

    private func storageFailed(_ fault: StorageFaultError) {
        faultLock.lock()
        let starts = failingSince == nil
        if starts { failingSince = Date() }
        faultLock.unlock()
        if starts {
            logger.error(
                "storage writes failing; appends are refused until one succeeds",
                metadata: [
                    "tenant": "\(tenant)", "error": "\(fault)"
                ])
        }
    }

    private func storageSucceeded() {
        faultLock.lock()
        let since = failingSince
        failingSince = nil
        faultLock.unlock()
        if let since {
            logger.notice(
                "storage writes resumed",
                metadata: [
                    "tenant": "\(tenant)", "failed_for": "\(String(format: "%.1f", Date().timeIntervalSince(since)))s"
                ])
        }
    }

    public var walStats: WALStats { wal.stats }

    /// Whether the WAL or WBL refuses writes now, and their failed writes and
    /// fsyncs since open.
    public var storageFaults: (failing: Bool, failures: UInt64) {
        let a = wal.stats, b = wbl.stats
        return (a.failing || b.failing, a.failures + b.failures)
    }

    /// Syncs and closes the logs. The head stays readable.
    public func close() throws {
        try wal.close()
        try wbl.close()
    }
}
