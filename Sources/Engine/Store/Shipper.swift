import Dispatch
import Formats
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Uploads one tenant's local blocks to `<tenant>/<ULID>/…` in a bucket, the way
/// a Mimir ingester's shipper does (`docs/format/object-store.md#upload`):
///
/// - Ships blocks with `compaction.level == 1` and `numSamples > 0`, oldest
///   `minTime` first. Local blocks are the ULID-named directories of the tenant
///   directory (`*.tmp-for-creation`, `*.tmp-for-deletion`, `wal/`, `wbl/`,
///   `chunks_head/` and the rest are ignored).
/// - Upload order: every file under `chunks/`, then `index`, then `meta.json`
///   last, so a block without `meta.json` in the bucket is a partial upload.
///   The uploaded meta.json is the local one plus `thanos.source = "receive"`,
///   `segment_files` and `files`; the local file is never modified and
///   `tombstones` is not uploaded.
/// - A block whose `<tenant>/<ULID>/meta.json` already exists in the bucket
///   counts as shipped (a crash after the upload, before the state was saved).
/// - Shipped blocks are recorded in `<tenantDirectory>/mimir.shipper.json`
///   (`ShipperState`) and never uploaded again.
/// - When a chunk or index upload fails, the objects already written for that
///   block are deleted and the block is retried after an exponential backoff
///   (`ShipperOptions`); other blocks go on. A failed meta.json upload is not
///   cleaned up (as Mimir: it may still land) and is retried the same way.
///
/// Thread safety: `sync()` may be called from any thread; concurrent calls run
/// one after the other. `shipped`, `shippedAt`, `stats` and `nextRetry` are
/// snapshots that may be read at any time, also during a sync.
public final class Shipper: @unchecked Sendable {
    public let tenant: String
    public let tenantDirectory: String
    public let bucket: any ObjectStore
    public let options: ShipperOptions
    /// The problem with the state file found at start, if any: the shipper then
    /// started from an empty state and re-checks the bucket for every block.
    public let stateFileError: ShipperStateError?

    private let logger: Logger
    /// Wall clock in Unix milliseconds.
    private let now: @Sendable () -> Int64
    /// Serialises `sync()`.
    private let syncLock = NSLock()
    /// Guards everything below.
    private let lock = NSLock()
    private var state: ShipperState
    /// The state differs from the file (or the file must be rewritten).
    private var stateDirty: Bool
    private var retries: [ULID: Retry] = [:]
    private var counters = ShipperStats()
    private let queue: DispatchQueue

    private struct Retry {
        var failures: Int
        var notBefore: Int64
    }

    /// Creates the shipper and reads the state file. A missing file is an empty
    /// state (the first sync writes it); an unreadable or corrupt one is logged (naming the file), kept in
    /// `stateFileError`, and replaced at the first sync.
    ///
    /// - Parameters:
    ///   - tenant: a valid tenant ID (`TenantID.validate`), the key prefix.
    ///   - tenantDirectory: the tenant's data directory (`<data>/tsdb/<tenant>`).
    ///   - now: the wall clock in Unix ms; tests replace it.
    /// - Throws: `TenantID.Invalid`.
    public init(
        tenant: String, tenantDirectory: String, bucket: any ObjectStore,
        options: ShipperOptions = ShipperOptions(), logger: Logger = Logger(label: "muninn.shipper"),
        now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
    ) throws {
        try TenantID.validate(tenant)
        self.tenant = tenant
        self.tenantDirectory = tenantDirectory
        self.bucket = bucket
        self.options = options
        var logger = logger
        logger[metadataKey: "tenant"] = "\(tenant)"
        self.logger = logger
        self.now = now
        queue = DispatchQueue(label: "muninn.shipper.\(tenant)")
        do {
            let saved = try ShipperState.read(directory: tenantDirectory)
            state = saved ?? ShipperState()
            // Like Mimir, the first pass writes the file even when nothing is shipped yet.
            stateDirty = saved == nil
            stateFileError = nil
        } catch {
            logger.error(
                "ignoring unreadable shipper state file; every block will be checked against the bucket",
                metadata: ["error": "\(error)"])
            state = ShipperState()
            stateDirty = true
            stateFileError = error
        }
    }

    // MARK: Snapshots

    /// Blocks recorded as shipped.
    public var shipped: Set<ULID> {
        lock.lock(); defer { lock.unlock() }
        return Set(state.shipped.keys)
    }

    /// When each shipped block was recorded, in Unix ms.
    public var shippedAt: [ULID: Int64] {
        lock.lock(); defer { lock.unlock() }
        return state.shipped
    }

    public var stats: ShipperStats {
        lock.lock(); defer { lock.unlock() }
        return counters
    }

    /// The earliest time (Unix ms) a failed block may be retried, or nil when
    /// no block is waiting for a retry.
    public var nextRetry: Int64? {
        lock.lock(); defer { lock.unlock() }
        return retries.values.map(\.notBefore).min()
    }

    // MARK: Syncing

    /// One pass: records blocks found in the bucket, uploads the others that are
    /// due, and saves the state file when it changed. Blocks are independent:
    /// a failure is reported in the result and the pass goes on.
    ///
    /// Blocking I/O; call it from a thread that may block (see `run`).
    /// - Throws: the I/O error when the tenant directory cannot be listed
    ///   (nothing was done).
    public func sync() throws -> ShipResult {
        syncLock.lock()
        defer { syncLock.unlock() }
        let names = try Files.list(tenantDirectory)
        var result = ShipResult()

        var local: [(meta: BlockMeta, directory: String)] = []
        var localIDs = Set<ULID>()
        for name in names {
            guard let ulid = ULID(name) else { continue }
            let directory = tenantDirectory + "/" + name
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory),
                isDirectory.boolValue
            else { continue }
            localIDs.insert(ulid)
            do {
                let meta = try BlockMeta.read(directory: directory)
                guard meta.ulid == ulid else {
                    throw FormatError(
                        file: directory + "/" + BlockMeta.fileName, offset: 0,
                        reason: "ulid \(meta.ulid) does not match the directory name")
                }
                local.append((meta, directory))
            } catch {
                logger.warning("skipping block with unreadable meta.json", metadata: ["block": "\(ulid)", "error": "\(error)"])
                result.unreadable.append(ulid)
            }
        }
        local.sort { ($0.meta.minTime, $0.meta.ulid) < ($1.meta.minTime, $1.meta.ulid) }
        forgetRemoved(keeping: localIDs, retrying: Set(local.map(\.meta.ulid)))

        for (meta, directory) in local {
            let ulid = meta.ulid
            let (isShipped, retry) = withLock { (state.shipped[ulid] != nil, retries[ulid]) }
            if isShipped { continue }
            guard meta.compaction.level == 1, meta.stats.numSamples > 0 else {
                if retry != nil { withLock { retries[ulid] = nil } }
                result.skipped.append(ulid)
                continue
            }
            if let retry, retry.notBefore > now() {
                result.deferred.append(ulid)
                continue
            }
            do {
                if try bucket.exists(objectKey(ulid, BlockMeta.fileName)) {
                    logger.info("block already in the bucket; recording it as shipped", metadata: ["block": "\(ulid)"])
                    record(ulid, bytes: 0, uploaded: false)
                    result.foundInBucket.append(ulid)
                    continue
                }
                let bytes = try upload(meta, from: directory)
                record(ulid, bytes: bytes, uploaded: true)
                result.uploaded.append(ulid)
            } catch {
                let delay = recordFailure(ulid)
                logger.error(
                    "shipping block failed; will retry",
                    metadata: [
                        "block": "\(ulid)", "error": "\(error)", "retry_in": "\(Double(delay) / 1000)s"
                    ])
                result.failed.append(ShipFailure(ulid: ulid, reason: "\(error)"))
            }
        }
        saveState()
        withLock { counters.syncs += 1 }
        return result
    }

    /// Runs `sync()` every `interval` (sooner when a failed block is due for a
    /// retry) until the task is cancelled. The passes run on a dispatch queue of
    /// this shipper, so the blocking I/O never occupies Swift's cooperative pool.
    ///
    /// - Parameter sleep: waits between passes; throwing (e.g. on cancellation)
    ///   ends the loop. Tests inject one that advances a fake clock.
    public func run(
        interval: Duration = .seconds(60),
        sleep: @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) async {
        while !Task.isCancelled {
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                queue.async {
                    do {
                        _ = try self.sync()
                    } catch {
                        self.logger.error("shipper sync failed", metadata: ["error": "\(error)"])
                    }
                    done.resume()
                }
            }
            do {
                try await sleep(delayUntilNextSync(interval: interval))
            } catch {
                return
            }
        }
    }

    /// How long to wait before the next pass: `interval`, or less when a
    /// failed block's retry is due sooner.
    public func delayUntilNextSync(interval: Duration) -> Duration {
        guard let next = nextRetry else { return interval }
        return min(interval, .milliseconds(max(0, next - now())))
    }

    // MARK: Uploading

    /// Uploads one block in Mimir's order and returns the bytes written. On a
    /// chunk or index failure the objects written so far are deleted first.
    private func upload(_ meta: BlockMeta, from directory: String) throws -> UInt64 {
        logger.info("uploading block", metadata: ["block": "\(meta.ulid)"])
        let chunkNames = try Files.list(directory + "/chunks").sorted(by: ObjectKey.precedes)
        var files: [(relPath: String, size: Int64)] = []
        for name in chunkNames {
            files.append(("chunks/" + name, try Self.fileSize(directory + "/chunks/" + name)))
        }
        files.append(("index", try Self.fileSize(directory + "/index")))
        let metaBytes = Self.uploadedMeta(meta, chunkNames: chunkNames, files: files)

        var written: [String] = []
        var bytes: UInt64 = 0
        do {
            for file in files {
                let key = objectKey(meta.ulid, file.relPath)
                try bucket.put(key, from: directory + "/" + file.relPath)
                written.append(key)
                bytes += UInt64(file.size)
                withLock { counters.uploadedBytes += UInt64(file.size) }
            }
        } catch {
            cleanUp(meta.ulid, written)
            throw error
        }
        try bucket.put(objectKey(meta.ulid, BlockMeta.fileName), data: metaBytes)
        withLock { counters.uploadedBytes += UInt64(metaBytes.count) }
        return bytes + UInt64(metaBytes.count)
    }

    /// The meta.json text uploaded for a block: the local meta plus Mimir's
    /// thanos fields, written as Mimir's `json.Encoder` does (trailing newline).
    /// A local meta without a thanos section gets one with external labels `{}`,
    /// raw resolution and no `version` key, exactly as Mimir's shipper produces.
    static func uploadedMeta(
        _ local: BlockMeta, chunkNames: [String],
        files: [(relPath: String, size: Int64)]
    ) -> [UInt8] {
        var meta = local
        var thanos = local.thanos ?? BlockMeta.Thanos(version: 0)
        thanos.source = BlockMeta.Thanos.receiveSource
        thanos.segmentFiles = chunkNames
        thanos.files =
            (files.map { BlockMeta.Thanos.File(relPath: $0.relPath, sizeBytes: $0.size) }
            + [BlockMeta.Thanos.File(relPath: BlockMeta.fileName)])
            .sorted { ObjectKey.precedes($0.relPath, $1.relPath) }
        meta.thanos = thanos
        return meta.encoded() + [UInt8(ascii: "\n")]
    }

    /// Deletes the objects a failed upload wrote; a failure here leaves a partial
    /// block (no meta.json) that readers ignore and the retry overwrites.
    private func cleanUp(_ ulid: ULID, _ keys: [String]) {
        for key in keys.reversed() {
            do {
                try bucket.delete(key)
            } catch {
                logger.warning(
                    "cleaning up a failed upload failed; partial block left in the bucket",
                    metadata: ["block": "\(ulid)", "error": "\(error)"])
            }
        }
    }

    private func objectKey(_ ulid: ULID, _ relPath: String) -> String {
        tenant + "/" + ulid.description + "/" + relPath
    }

    private static func fileSize(_ path: String) throws -> Int64 {
        var st = stat()
        try Files.check(stat(path, &st), "stat", path)
        return Int64(st.st_size)
    }

    // MARK: State

    private func withLock<T>(_ body: () -> T) -> T {
        lock.lock(); defer { lock.unlock() }
        return body()
    }

    private func record(_ ulid: ULID, bytes: UInt64, uploaded: Bool) {
        let time = now()
        withLock {
            state.shipped[ulid] = time
            stateDirty = true
            retries[ulid] = nil
            if uploaded {
                counters.uploads += 1
                counters.lastSuccessfulUpload = time
            }
        }
        if uploaded {
            logger.info("uploaded block", metadata: ["block": "\(ulid)", "bytes": "\(bytes)"])
        }
    }

    /// Counts a failure and schedules the retry; returns the backoff in ms.
    private func recordFailure(_ ulid: ULID) -> Int64 {
        let time = now()
        return withLock {
            let failures = (retries[ulid]?.failures ?? 0) + 1
            let delay = options.backoff(afterFailures: failures)
            retries[ulid] = Retry(failures: failures, notBefore: time + delay)
            counters.uploadFailures += 1
            return delay
        }
    }

    /// Drops state for blocks no longer on disk (deleted by retention), as
    /// Mimir rewrites its state with the local blocks only, and pending retries
    /// of blocks that can no longer be attempted (so `nextRetry` never points
    /// at a retry that will not happen).
    private func forgetRemoved(keeping local: Set<ULID>, retrying readable: Set<ULID>) {
        withLock {
            let gone = state.shipped.keys.filter { !local.contains($0) }
            for ulid in gone { state.shipped[ulid] = nil }
            if !gone.isEmpty { stateDirty = true }
            for ulid in retries.keys where !readable.contains(ulid) { retries[ulid] = nil }
        }
    }

    /// Writes the state file when it changed. A failure is logged and counted;
    /// the state stays dirty so the next pass tries again (the in-memory state
    /// is what `shipped` reports, and a lost file only costs bucket checks).
    private func saveState() {
        let snapshot: ShipperState? = withLock { stateDirty ? state : nil }
        guard let snapshot else { return }
        do {
            try snapshot.write(directory: tenantDirectory)
            withLock { stateDirty = false }
        } catch {
            logger.warning("writing the shipper state file failed", metadata: ["error": "\(error)"])
            withLock { counters.stateWriteFailures += 1 }
        }
    }
}

/// Retry timing of the shipper.
public struct ShipperOptions: Sendable, Equatable {
    /// The wait after a block's first failure; doubled after each further one.
    public var initialBackoff: Duration
    /// The longest wait between attempts.
    public var maxBackoff: Duration

    public init(initialBackoff: Duration = .seconds(1), maxBackoff: Duration = .seconds(60)) {
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
    }

    /// The wait in ms after `failures` (≥ 1) consecutive failures.
    public func backoff(afterFailures failures: Int) -> Int64 {
        let initial = Self.milliseconds(initialBackoff), maximum = Self.milliseconds(maxBackoff)
        let doublings = min(max(failures - 1, 0), 62)
        let (scaled, overflow) = initial.multipliedReportingOverflow(by: Int64(1) << doublings)
        return overflow ? maximum : min(scaled, maximum)
    }

    static func milliseconds(_ d: Duration) -> Int64 {
        d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
    }
}

/// What one `Shipper.sync()` pass did, block IDs in the order handled.
public struct ShipResult: Sendable, Equatable {
    /// Uploaded in this pass.
    public var uploaded: [ULID] = []
    /// meta.json was already in the bucket; now recorded as shipped.
    public var foundInBucket: [ULID] = []
    /// Failed in this pass; retried after the backoff.
    public var failed: [ShipFailure] = []
    /// Waiting for the backoff of an earlier failure.
    public var deferred: [ULID] = []
    /// Never shipped: compaction level other than 1, or no samples.
    public var skipped: [ULID] = []
    /// Block directories whose meta.json could not be read.
    public var unreadable: [ULID] = []

    public init() {}
}

public struct ShipFailure: Sendable, Equatable {
    public var ulid: ULID
    public var reason: String
}

/// The shipper's counters, named after Mimir's `thanos_shipper_*` metrics.
public struct ShipperStats: Sendable, Equatable {
    /// Completed `sync()` passes (`thanos_shipper_dir_syncs_total`).
    public var syncs: UInt64 = 0
    /// Blocks uploaded (`thanos_shipper_uploads_total`).
    public var uploads: UInt64 = 0
    /// Failed block uploads (`thanos_shipper_upload_failures_total`).
    public var uploadFailures: UInt64 = 0
    /// Bytes of objects written to the bucket, including those of failed uploads.
    public var uploadedBytes: UInt64 = 0
    /// Failed writes of `mimir.shipper.json`.
    public var stateWriteFailures: UInt64 = 0
    /// Unix ms of the last successful upload
    /// (`thanos_shipper_last_successful_upload_time`, in seconds there).
    public var lastSuccessfulUpload: Int64?

    public init() {}
}

// MARK: - State file

/// `<tenantDirectory>/mimir.shipper.json` (`docs/format/object-store.md#mimirshipperjson`): the blocks shipped
/// and when, as Mimir's ingester writes it:
///
/// ```
/// {
/// 	"version": 1,
/// 	"shipped": {
/// 		"01HXXXXXXXXXXXXXXXXXXXXXXX": 1700000012.345
/// 	}
/// }
/// ```
/// Tab-indented with a trailing newline (Go's `json.Encoder`), ULIDs sorted,
/// times in seconds with at most 3 decimals (Prometheus `model.Time`).
package struct ShipperState: Sendable, Equatable {
    package static let fileName = "mimir.shipper.json"
    package static let currentVersion = 1

    /// Shipped blocks and when they were recorded, in Unix ms.
    package var shipped: [ULID: Int64]

    package init(shipped: [ULID: Int64] = [:]) {
        self.shipped = shipped
    }

    package func encoded() -> [UInt8] {
        var out = "{\n\t\"version\": \(Self.currentVersion),\n\t\"shipped\": "
        if shipped.isEmpty {
            out += "{}"
        } else {
            out += "{\n"
            let entries = shipped.sorted { $0.key < $1.key }
            for (i, (ulid, ms)) in entries.enumerated() {
                out += "\t\t\"\(ulid)\": \(Self.seconds(ms))" + (i == entries.count - 1 ? "\n" : ",\n")
            }
            out += "\t}"
        }
        out += "\n}\n"
        return Array(out.utf8)
    }

    /// Go's `model.Time` JSON: `strconv.FormatFloat(ms/1000, 'f', -1, 64)`,
    /// i.e. the shortest decimal — whole seconds plus up to 3 digits.
    static func seconds(_ ms: Int64) -> String {
        let negative = ms < 0
        let magnitude = ms.magnitude
        var text = (negative ? "-" : "") + String(magnitude / 1000)
        var fraction = magnitude % 1000
        if fraction != 0 {
            var digits = 3
            while fraction % 10 == 0 { fraction /= 10; digits -= 1 }
            let s = String(fraction)
            text += "." + String(repeating: "0", count: digits - s.count) + s
        }
        return text
    }

    /// Parses the file text. `file` names the source in errors.
    package static func decode(_ bytes: [UInt8], file: String) throws(ShipperStateError) -> ShipperState {
        struct Contents: Decodable {
            var version: Int
            var shipped: [String: Double]?
        }
        let contents: Contents
        do {
            contents = try JSONDecoder().decode(Contents.self, from: Data(bytes))
        } catch {
            throw ShipperStateError(file: file, reason: "invalid JSON: \(describe(error))")
        }
        guard contents.version == currentVersion else {
            throw ShipperStateError(file: file, reason: "unsupported version \(contents.version), want \(currentVersion)")
        }
        var state = ShipperState()
        for (key, seconds) in contents.shipped ?? [:] {
            guard let ulid = ULID(key) else { throw ShipperStateError(file: file, reason: "invalid ULID \"\(key)\"") }
            guard seconds.isFinite, abs(seconds) < 9e15 else {
                throw ShipperStateError(file: file, reason: "shipped time \(seconds) of \(key) is out of range")
            }
            state.shipped[ulid] = Int64((seconds * 1000).rounded())
        }
        return state
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let c): c.debugDescription
        case DecodingError.keyNotFound(let key, _): "missing key \"\(key.stringValue)\""
        case DecodingError.typeMismatch(let type, let c), DecodingError.valueNotFound(let type, let c):
            "expected \(type) at \(c.codingPath.map(\.stringValue).joined(separator: "."))"
        default: "\(error)"
        }
    }

    /// Reads `<directory>/mimir.shipper.json`; nil when the file does not exist.
    package static func read(directory: String) throws(ShipperStateError) -> ShipperState? {
        let path = directory + "/" + fileName
        let bytes: [UInt8]
        do {
            bytes = try Files.read(path)
        } catch let error as SystemError where error.code == ENOENT {
            return nil
        } catch {
            throw ShipperStateError(file: path, reason: "\(error)")
        }
        return try decode(bytes, file: path)
    }

    /// Writes the file crash-safely (`Files.writeAtomically`).
    /// - Throws: `SystemError`.
    package func write(directory: String) throws {
        try Files.writeAtomically(directory + "/" + Self.fileName, encoded())
    }
}

/// An unreadable or corrupt shipper state file.
public struct ShipperStateError: Error, Sendable, Equatable, CustomStringConvertible {
    public let file: String
    public let reason: String

    public var description: String { "\(file): \(reason)" }
}
