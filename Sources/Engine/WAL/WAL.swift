import CStorage
import Formats
import Foundation
import Metrics

#if canImport(Glibc)
    import Glibc
#endif

/// A write-ahead log directory: numbered segments of 32 KiB pages holding
/// CRC-checked record fragments (Prometheus's framing, `docs/format/wal.md`).
///
/// `log(_:)` is safe to call from many threads; each call is one commit whose
/// records are written with a single `write(2)` and are in the OS page cache when
/// it returns. With `.always` it also waits for an fsync covering it; commits that
/// arrive during an fsync share the next one (group commit).
public final class WAL: @unchecked Sendable {
    public static let pageSize = Int(CS_WAL_PAGE_SIZE)

    public let directory: String
    public let options: WALOptions
    /// The log's name in errors (`wal`, `wbl`): messages reach clients, so no absolute paths.
    let name: String

    // Everything below is guarded by `condition`.
    private let condition = NSCondition()
    /// The segment being written; -1 when opening the next one failed (the next write retries).
    private var fd: Int32 = -1
    private var segment: Int
    /// Bytes in the current segment file and its page framing state.
    private var segmentOffset = 0
    private var pageOffset = 0
    private var pagesLeft: UInt64 = 0
    /// Finished (padded) segments not yet fsynced. Rollover happens inside `write`,
    /// which callers run under their own locks, so the fsync and close are left to
    /// the next sync, which runs outside them.
    private var retired: [(fd: Int32, path: String)] = []
    /// A segment was created since the directory was last synced.
    private var directoryDirty = false
    /// Bytes written since open, and how many of them an fsync covers.
    private var written: UInt64 = 0
    private var synced: UInt64 = 0
    private var syncing = false
    private var closed = false
    /// Where the current segment ended before a write that failed part-way: the
    /// next write cuts the file back there first, so a commit that was refused never
    /// leaves bytes (a torn record, or a complete series record whose refs the head
    /// will hand out again) in front of data acknowledged later.
    private var torn: Mark?
    /// A failed fsync. Linux reports a writeback error once and may then mark the
    /// lost pages clean, so a later fsync can succeed while the segment has a hole
    /// that replay would treat as its end, dropping every later record. Rewriting
    /// from the page cache is not safe either (some filesystems drop the pages), so
    /// the log refuses writes until the node restarts and replay rebuilds a
    /// consistent WAL from what is really on disk. Write errors (ENOSPC) do not
    /// need this: they are repaired by truncation and clear on the next success.
    private var fatal: StorageFaultError?
    /// Between a failed write and the next successful one.
    private var failing = false
    private var failures: UInt64 = 0
    private var frame = [UInt8](repeating: 0, count: 64 * 1024)
    private var packed = [UInt8](repeating: 0, count: 64 * 1024)
    /// Runs fsyncs for async waiters (and the interval policy's timer), so no
    /// Swift concurrency thread blocks in fsync; started on first need.
    private var syncThread: Thread?
    private var waiters: [(position: UInt64, continuation: CheckedContinuation<Void, Error>)] = []
    private var fsyncs: UInt64 = 0
    private var fsyncSeconds: Double = 0

    private struct Mark {
        var offset: Int
        var pageOffset: Int
        var pagesLeft: UInt64
    }

    private var segmentPath: String { directory + "/" + WALSegments.name(segment) }
    private var mark: Mark { Mark(offset: segmentOffset, pageOffset: pageOffset, pagesLeft: pagesLeft) }

    /// Opens (creating if needed) the WAL in `directory`, replays the newest
    /// checkpoint and every later segment through `replay`, repairs a corrupt or
    /// torn tail by truncating there, and starts writing a new segment.
    public static func open(
        directory: String, options: WALOptions = WALOptions(),
        replay: ((WALRecord) throws -> Void)? = nil
    ) throws -> (WAL, WALReplayReport) {
        try open(
            directory: directory, options: options,
            rawReplay: { bytes in
                if let replay { try replay(try WALRecord.decode(bytes)) }
            })
    }

    /// As `open(directory:options:replay:)`, handing replay the raw record bytes.
    public static func open(
        directory: String, options: WALOptions,
        rawReplay: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> (WAL, WALReplayReport) {
        try Files.makeDirectory(directory)
        let report = try WALReplay.run(directory: directory, repair: true, rawReplay)
        let next = (try WALSegments.list(directory).last).map { $0 + 1 } ?? (report.checkpoint.map { $0 + 1 } ?? 0)
        let wal = try WAL(directory: directory, options: options, firstSegment: next)
        return (wal, report)
    }

    private init(directory: String, options: WALOptions, firstSegment: Int) throws {
        self.directory = directory
        self.options = options
        self.name = URL(fileURLWithPath: directory).lastPathComponent
        self.segment = firstSegment
        try openSegment()
        try Files.syncDirectory(directory)
        directoryDirty = false
        if case .interval = options.fsync { startSyncThread() }
    }

    deinit {
        if fd >= 0 { Glibc.close(fd) }
        for file in retired { Glibc.close(file.fd) }
    }

    /// Bytes written, fsyncs run and the time they took since open, and whether
    /// writes are failing.
    public var stats: WALStats {
        condition.lock(); defer { condition.unlock() }
        return WALStats(
            bytesWritten: written, fsyncs: fsyncs, fsyncSeconds: fsyncSeconds,
            failing: failing || fatal != nil, failures: failures)
    }

    /// Index of the segment being written.
    public var currentSegment: Int {
        condition.lock(); defer { condition.unlock() }
        return segment
    }

    /// Writes the records (uncompressed bytes, type byte first) as one commit.
    public func log(_ records: [[UInt8]]) throws {
        try waitUntilDurable(write(records))
    }

    /// Writes the records as one commit, all in one segment with one `write(2)`,
    /// and returns its end position without waiting for an fsync, so a caller can
    /// release its own locks first and then call `waitUntilDurable(_:)`.
    /// Throws `StorageFaultError` when the disk refuses the write; nothing of the
    /// commit is then in the log (the next write removes any partial bytes first).
    public func write(_ records: [[UInt8]]) throws -> UInt64 {
        condition.lock()
        defer { condition.unlock() }
        guard !closed else { throw WALClosedError() }
        do {
            try prepareForWrite()
            try writeCommit(records)
        } catch {
            throw failed(error)
        }
        failing = false
        return written
    }

    /// With `fsync: always`, waits until an fsync covers `position`; otherwise
    /// returns once segments finished by a rollover are synced (the data is
    /// already in the OS page cache).
    public func waitUntilDurable(_ position: UInt64) throws {
        condition.lock()
        defer { condition.unlock() }
        if options.fsync == .always {
            try waitForSync(covering: position, pending: true)
        } else if !retired.isEmpty || directoryDirty {
            try waitForSync(covering: 0, pending: true)
        }
    }

    /// As `waitUntilDurable(_:)`, suspending instead of blocking the calling
    /// thread: a dedicated thread runs the fsync (group commit as before).
    public func durable(_ position: UInt64) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            condition.lock()
            defer { condition.unlock() }
            if let fatal { return continuation.resume(throwing: fatal) }
            let always = options.fsync == .always
            if (!always || synced >= position) && retired.isEmpty && !directoryDirty { return continuation.resume() }
            if closed { return continuation.resume(throwing: WALClosedError()) }
            waiters.append((always ? position : 0, continuation))
            startSyncThread()
            condition.broadcast()
        }
    }

    public func log(_ records: WALRecord...) throws {
        try log(records.map { $0.encoded() })
    }

    /// Forces everything written so far to stable storage.
    public func sync() throws {
        condition.lock()
        defer { condition.unlock() }
        try waitForSync(covering: written, pending: true)
    }

    /// Finishes the current segment, syncs it and starts the next; returns the finished index.
    @discardableResult
    public func cutSegment() throws -> Int {
        condition.lock()
        defer { condition.unlock() }
        guard !closed else { throw WALClosedError() }
        let finished: Int
        do {
            try prepareForWrite()
            finished = segment
            try rollOver()
        } catch {
            throw failed(error)
        }
        try waitForSync(covering: written, pending: true)
        return finished
    }

    /// Pads and syncs the current segment and stops the background syncer.
    /// After an fsync failure it only closes the files and throws that failure.
    public func close() throws {
        condition.lock()
        if closed { condition.unlock(); return }
        closed = true
        while syncing { condition.wait() }
        var closeError: Error?
        defer {
            if fd >= 0 { Glibc.close(fd); fd = -1 }
            for file in retired { Glibc.close(file.fd) }
            retired = []
            for waiter in waiters {
                if let closeError { waiter.continuation.resume(throwing: closeError) } else { waiter.continuation.resume() }
            }
            waiters = []
            condition.broadcast()
            condition.unlock()
        }
        if let fatal { closeError = fatal; throw fatal }
        // Every step is tried even when an earlier one failed (a full disk refuses
        // the padding, not the fsync of what is already written); the first error is thrown.
        var firstError: Error?
        func attempt(_ step: () throws -> Void) {
            do { try step() } catch { firstError = firstError ?? error }
        }
        for file in retired { attempt { try Files.sync(file.fd, path: file.path) } }
        if fd >= 0 {
            attempt {
                if let torn { try cutBack(to: torn) }
                try padPage()
            }
            attempt { try Files.sync(fd, path: segmentPath) }
        }
        if directoryDirty { attempt { try Files.syncDirectory(directory) } }
        if let firstError {
            closeError = fault(firstError, needsRestart: false)
            throw closeError!
        }
        synced = written
    }

    // MARK: - Writing (lock held)

    /// Makes the log writable again after a failed write: reopens the segment
    /// whose creation failed, or cuts a torn one back to its last whole commit.
    private func prepareForWrite() throws {
        if let fatal { throw fatal }
        if fd < 0 { try openSegment() }
        if let torn { try cutBack(to: torn) }
    }

    private func cutBack(to mark: Mark) throws {
        // Positions only advance once a write completed, so only the file needs cutting.
        try Files.truncate(fd, to: mark.offset, path: segmentPath)
        pageOffset = mark.pageOffset
        pagesLeft = mark.pagesLeft
        torn = nil
    }

    /// Counts a failed write and returns the error to throw.
    private func failed(_ error: Error) -> Error {
        if let already = error as? StorageFaultError, already.needsRestart { return already }
        failing = true
        failures += 1
        return fault(error, needsRestart: false)
    }

    private func fault(_ error: Error, needsRestart: Bool) -> Error {
        guard let system = error as? SystemError else { return error }
        return StorageFaultError(
            log: name, operation: system.operation,
            file: URL(fileURLWithPath: system.path).lastPathComponent,
            code: system.code, needsRestart: needsRestart)
    }

    /// Frames and writes one commit. A commit that does not fit in the rest of
    /// the segment starts a new one, so a commit never spans two segments and a
    /// failed one is undone by truncating a single file.
    private func writeCommit(_ records: [[UInt8]]) throws {
        // An oversized segment (see frameRecord) takes nothing after its commit.
        if pagesLeft == UInt64.max, segmentOffset > 0 { try rollOver() }
        while true {
            let start = mark
            let fresh = segmentOffset == 0
            var used = 0
            var fits = true
            for record in records {
                guard let end = try frameRecord(record, at: used, fresh: fresh) else { fits = false; break }
                used = end
            }
            if fits {
                do { try flush(used) } catch { torn = start; throw error }
                return
            }
            pageOffset = start.pageOffset
            pagesLeft = start.pagesLeft
            try rollOver()
        }
    }

    /// Frames one record into `frame` after `used` bytes; returns the new length,
    /// or nil when it does not fit in the rest of the segment. In a fresh segment
    /// a record larger than the whole segment gets an oversized segment to itself.
    private func frameRecord(_ record: [UInt8], at used: Int, fresh: Bool) throws -> Int? {
        var flags: UInt32 = 0
        var payloadLength = record.count
        if options.compression == .lz4, record.count > 0 {
            let bound = cs_wal_compress_lz4_bound(record.count)
            if packed.count < bound { packed = [UInt8](repeating: 0, count: bound) }
            let n = packed.withUnsafeMutableBufferPointer {
                cs_wal_compress_lz4(record, record.count, $0.baseAddress, $0.count)
            }
            try CodecError.check(n)
            if n > 0 { flags = UInt32(CS_WAL_FLAG_LZ4); payloadLength = Int(n) }
        }
        let needed = used + cs_wal_frame_bound(payloadLength)
        if frame.count < needed { frame.append(contentsOf: repeatElement(0, count: needed - frame.count)) }

        while true {
            let rc = frame.withUnsafeMutableBufferPointer { out -> Int64 in
                let dst = out.baseAddress! + used
                let cap = out.count - used
                return flags == 0
                    ? cs_wal_frame_record(dst, cap, record, payloadLength, flags, &pageOffset, &pagesLeft)
                    : packed.withUnsafeBufferPointer { p in
                        cs_wal_frame_record(dst, cap, p.baseAddress, payloadLength, flags, &pageOffset, &pagesLeft)
                    }
            }
            if rc >= 0 { return used + Int(rc) }
            guard rc == Int64(CS_E_FULL) else { try CodecError.check(rc); return used }
            guard fresh else { return nil }
            pagesLeft = UInt64.max  // CS_WAL_PAGES_UNLIMITED
        }
    }

    private func flush(_ count: Int) throws {
        guard count > 0 else { return }
        let path = segmentPath
        try frame.withUnsafeBytes { try Files.writeAll(fd, UnsafeRawBufferPointer(rebasing: $0[0..<count]), path: path) }
        segmentOffset += count
        written += UInt64(count)
    }

    private func openSegment() throws {
        fd = try Files.create(segmentPath)
        segmentOffset = 0
        pageOffset = 0
        pagesLeft = UInt64(options.segmentSize / WAL.pageSize - 1)
        directoryDirty = true
    }

    /// Zero-fills the rest of the current page.
    private func padPage() throws {
        var pad = [UInt8](repeating: 0, count: WAL.pageSize)
        let n = pad.withUnsafeMutableBufferPointer { cs_wal_pad_page($0.baseAddress, $0.count, pageOffset) }
        try CodecError.check(n)
        guard n > 0 else { return }
        let start = mark
        let path = segmentPath
        do {
            try pad.withUnsafeBytes { try Files.writeAll(fd, UnsafeRawBufferPointer(rebasing: $0[0..<Int(n)]), path: path) }
        } catch {
            torn = start
            throw error
        }
        segmentOffset += Int(n)
        pageOffset = 0
        written += UInt64(n)
    }

    /// Pads the current segment, hands it to the next sync and opens the next one.
    private func rollOver() throws {
        try padPage()
        retired.append((fd, segmentPath))
        fd = -1
        segment += 1
        try openSegment()
    }

    // MARK: - Durability (lock held)

    /// Group commit: one thread runs fsync with the lock released while others
    /// keep writing; whoever still needs a sync afterwards runs the next one.
    /// With `pending`, also runs one when finished segments or a new directory
    /// entry await their sync.
    private func waitForSync(covering target: UInt64, pending: Bool) throws {
        while synced < target || (pending && (!retired.isEmpty || directoryDirty)) {
            if let fatal { throw fatal }
            if syncing { condition.wait(); continue }
            syncing = true
            let upTo = written
            let files = retired
            retired = []
            let syncDirectory = directoryDirty
            directoryDirty = false
            let current = fd >= 0 ? (fd: fd, path: segmentPath) : nil
            condition.unlock()
            var error: Error?
            let started = ContinuousClock.now
            do {
                // Finished segments and the directory entry first: they precede the current segment's data.
                for file in files { try Files.sync(file.fd, path: file.path) }
                if syncDirectory { try Files.syncDirectory(directory) }
                if let current { try Files.sync(current.fd, path: current.path) }
            } catch let e { error = e }
            let took = ContinuousClock.now - started
            condition.lock()
            for file in files { Glibc.close(file.fd) }
            fsyncs += 1
            fsyncSeconds += Double(took.components.seconds) + Double(took.components.attoseconds) * 1e-18
            Self.fsyncDuration.record(duration: took)
            syncing = false
            if let error {
                let fault =
                    fault(error, needsRestart: true) as? StorageFaultError
                    ?? StorageFaultError(log: name, operation: "fsync", file: WALSegments.name(segment), code: EIO, needsRestart: true)
                fatal = fault
                failures += 1
                condition.broadcast()
                throw fault
            }
            synced = max(synced, upTo)
            condition.broadcast()
        }
    }

    /// Every WAL's fsync latency, through swift-metrics (a no-op until the
    /// process bootstraps a metrics backend, as the node does).
    private static let fsyncDuration = Metrics.Timer(label: "muninn_wal_fsync_duration_seconds")

    private func startSyncThread() {
        guard syncThread == nil else { return }
        let every: Int? = if case .interval(let ms) = options.fsync { ms } else { nil }
        let thread = Thread { [weak self] in self?.syncLoop(every: every) }
        thread.name = "wal-sync"
        syncThread = thread
        thread.start()
    }

    /// Syncs for async waiters as they arrive and, with an interval, on a timer.
    private func syncLoop(every ms: Int?) {
        condition.lock()
        defer { condition.unlock() }
        var deadline = ms.map { Date().addingTimeInterval(Double($0) / 1000) }
        while !closed {
            let due = deadline.map { Date() >= $0 } ?? false
            if waiters.isEmpty && !due {
                if let deadline { _ = condition.wait(until: deadline) } else { condition.wait() }
                continue
            }
            if due, let ms { deadline = Date().addingTimeInterval(Double(ms) / 1000) }
            if fatal == nil {
                let target = max(waiters.map(\.position).max() ?? 0, due ? written : 0)
                try? waitForSync(covering: target, pending: true)
            }
            // A sync that succeeded covers every waiter up to `synced` (finished
            // segments included); after a failure every waiter gets it.
            var still: [(position: UInt64, continuation: CheckedContinuation<Void, Error>)] = []
            for waiter in waiters {
                if let fatal {
                    waiter.continuation.resume(throwing: fatal)
                } else if waiter.position <= synced && retired.isEmpty {
                    waiter.continuation.resume()
                } else {
                    still.append(waiter)
                }
            }
            waiters = still
        }
    }
}

public struct WALStats: Sendable, Equatable {
    public var bytesWritten: UInt64
    public var fsyncs: UInt64
    public var fsyncSeconds: Double
    /// Writes are being refused (disk full, I/O error) right now.
    public var failing: Bool
    /// Failed writes and fsyncs since open.
    public var failures: UInt64
}

/// The disk refused a log write or fsync. Nothing of the refused commit is
/// acknowledged and retrying later is safe: after a write error the log repairs
/// itself on the next write and takes writes again once the disk does; after an
/// fsync error (`needsRestart`) it refuses writes until the node restarts.
public struct StorageFaultError: Error, CustomStringConvertible, Sendable, Equatable {
    /// `wal` or `wbl`.
    public let log: String
    public let operation: String
    /// The file's name inside the log directory.
    public let file: String
    public let code: Int32
    public let needsRestart: Bool

    public var description: String {
        "\(log) \(operation) \(file): \(String(cString: strerror(code)))"
            + (needsRestart ? " (data since the last fsync may not be durable; writes resume after a restart)" : "")
    }
}

public struct WALClosedError: Error, CustomStringConvertible {
    public var description: String { "the WAL is closed" }
}
