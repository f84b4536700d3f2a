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

    public init(wal: WALOptions = WALOptions(), chunkRange: Int64 = 2 * 3_600_000, limits: TenantLimits = TenantLimits(),
                idleFlushTimeout: TimeInterval = 3600, retention: Retention = Retention()) {
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
    public static func open(directory: String, tenant: String, options: DatabaseOptions,
                            logger: Logger = Logger(label: "muninn.db")) throws -> TenantDB {
        try Files.makeDirectory(directory)
        let blocks = try loadBlocks(directory, logger: logger)
        let head = Head(chunkRange: options.chunkRange)
        // Samples the blocks already hold are not replayed into the head again.
        head.minValidTime = blocks.map(\.meta.maxTime).max() ?? .min
        let started = Date()
        let progress = ReplayProgress(directory: directory + "/wal", tenant: tenant, logger: logger)
        var decoder = WALSamplesDecoder()
        var unstorable = 0
        let (wal, report) = try WAL.open(directory: directory + "/wal", options: options.wal, rawReplay: { record in
            progress.advance(record.count)
            unstorable += try head.replay(record, decoder: &decoder, outOfOrder: false)
        })
        let (wbl, wblReport) = try WAL.open(directory: directory + "/wbl", options: options.wal, rawReplay: { record in
            unstorable += try head.replay(record, decoder: &decoder, outOfOrder: true)
        })
        if unstorable > 0 {
            logger.error("dropped replayed samples whose block range does not fit in Int64", metadata: [
                "tenant": "\(tenant)", "samples": "\(unstorable)"])
        }
        for (name, r) in [("WAL", report), ("WBL", wblReport)] {
            if let corruption = r.corruption {
                logger.warning("repaired corrupt \(name) tail; data after it is lost", metadata: [
                    "tenant": "\(tenant)", "at": "\(corruption)", "dropped_segments": "\(r.segmentsDropped.count)"])
            }
        }
        if report.records > 0 {
            logger.info("replayed WAL", metadata: [
                "tenant": "\(tenant)", "records": "\(report.records)", "series": "\(head.seriesCount)",
                "duration": "\(String(format: "%.3f", Date().timeIntervalSince(started)))s"])
        }
        let db = TenantDB(tenant: tenant, directory: directory, head: head, wal: wal, wbl: wbl, options: options, logger: logger)
        db.blocks = blocks
        return db
    }

    /// Opens every block directory (ULID-named) and removes leftovers of
    /// interrupted writes and deletions.
    static func loadBlocks(_ directory: String, logger: Logger) throws -> [BlockReader] {
        var blocks: [BlockReader] = []
        for name in try Files.list(directory).sorted() {
            // Leftovers of writes a crash interrupted: block directories and
            // temporary files such as the shipper's `mimir.shipper.json.tmp`.
            if name.hasSuffix(".tmp-for-creation") || name.hasSuffix(".tmp-for-deletion") || name.hasSuffix(".tmp") {
                try Files.remove(directory + "/" + name)
                continue
            }
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
            let ok = bucket.take(batch.sampleCount, rate: limits.ingestionRate, burst: limits.ingestionBurst,
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
            logger.error("storage writes failing; appends are refused until one succeeds", metadata: [
                "tenant": "\(tenant)", "error": "\(fault)"])
        }
    }

    private func storageSucceeded() {
        faultLock.lock()
        let since = failingSince
        failingSince = nil
        faultLock.unlock()
        if let since {
            logger.notice("storage writes resumed", metadata: [
                "tenant": "\(tenant)", "failed_for": "\(String(format: "%.1f", Date().timeIntervalSince(since)))s"])
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

extension Head {
    /// Applies one WAL/WBL record during replay. Samples the head cannot take
    /// (duplicates after a crash between log and apply, refs of dropped series)
    /// are skipped, as Prometheus does. So are samples no block could hold
    /// (timestamps at the ends of Int64, which versions before the grace-period
    /// checks accepted): kept, they would stop every later cut. Returns how
    /// many of those were dropped.
    @discardableResult
    func replay(_ record: UnsafeRawBufferPointer, decoder: inout WALSamplesDecoder, outOfOrder: Bool) throws -> Int {
        guard let type = record.first else { return 0 }
        lock.lock()
        defer { lock.unlock() }
        var unstorable = 0
        switch WALRecord.RecordType(rawValue: type) {
        case .series:
            try replaySeries(record)
        case .samples:
            try decoder.decode(record)
            for i in 0..<decoder.count {
                let id = Int(decoder.refs[i]) - 1
                guard id >= 0, id < alive.count, alive[id] else { continue }
                guard blockRangeStart(decoder.timestamps[i]) != nil else { unstorable += 1; continue }
                // In-order samples older than the newest block are in that block.
                if !outOfOrder, decoder.timestamps[i] < minValidTime { continue }
                if outOfOrder {
                    _ = appendOutOfOrder(id, Sample(timestamp: decoder.timestamps[i], valueBits: decoder.values[i]))
                } else {
                    appendInOrder(id, decoder.timestamps[i], decoder.values[i])
                }
            }
        default:
            break
        }
        return unstorable
    }
}

extension Head {
    /// Creates the series of a WAL series record straight from its byte spans:
    /// strings are interned from the record, and only unseen ones become `String`s.
    func replaySeries(_ record: UnsafeRawBufferPointer) throws {
        var ids: [UInt32] = []
        var full: HeadIndexFullError?
        try WALRecord.forEachSeries(record) { ref, spans in
            guard full == nil, ref > lastRef else { return }
            let bytes = spans.reduce(0) { $0 + $1.name.len + $1.value.len }
            if let problem = indexProblem(newestRef: ref, labelPairs: spans.count, bytes: bytes) {
                full = HeadIndexFullError(ref: ref, reason: problem)
                return
            }
            ids.removeAll(keepingCapacity: true)
            for span in spans {
                ids.append(symbols.intern(bytes: UnsafeBufferPointer(start: span.name.ptr, count: span.name.len)))
                ids.append(symbols.intern(bytes: UnsafeBufferPointer(start: span.value.ptr, count: span.value.len)))
            }
            ids.withUnsafeBufferPointer { _ = createSeries(ref: ref, ids: $0) }
        }
        if let full { throw full }
    }
}

/// Logs replay progress (percent of WAL bytes and rate) every few seconds.
final class ReplayProgress {
    private let total: Int
    private var done = 0
    private var nextLog: Date
    private let started = Date()
    private let tenant: String
    private let logger: Logger

    init(directory: String, tenant: String, logger: Logger) {
        var bytes = 0
        if let names = try? FileManager.default.subpathsOfDirectory(atPath: directory) {
            for name in names {
                bytes += (try? FileManager.default.attributesOfItem(atPath: directory + "/" + name)[.size] as? Int) ?? 0
            }
        }
        total = bytes
        self.tenant = tenant
        self.logger = logger
        nextLog = started.addingTimeInterval(3)
    }

    func advance(_ bytes: Int) {
        done += bytes
        let now = Date()
        guard now >= nextLog, total > 0 else { return }
        nextLog = now.addingTimeInterval(3)
        let rate = Double(done) / now.timeIntervalSince(started) / 1e6
        logger.info("replaying WAL", metadata: [
            "tenant": "\(tenant)", "progress": "\(min(100, done * 100 / total))%",
            "rate": "\(String(format: "%.1f", rate)) MB/s"])
    }
}
