#if canImport(Glibc)
import Glibc
#endif
import CStorage
import Foundation
import Metrics

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

    // Everything below is guarded by `condition`.
    private let condition = NSCondition()
    private var fd: Int32 = -1
    private var segment: Int
    private var pageOffset = 0
    private var pagesLeft: UInt64 = 0
    /// Bytes written since open, and how many of them an fsync covers.
    private var written: UInt64 = 0
    private var synced: UInt64 = 0
    private var syncing = false
    private var closed = false
    private var failure: Error?
    private var frame = [UInt8](repeating: 0, count: 64 * 1024)
    private var packed = [UInt8](repeating: 0, count: 64 * 1024)
    private var syncThread: Thread?
    private var fsyncs: UInt64 = 0
    private var fsyncSeconds: Double = 0

    private var segmentPath: String { directory + "/" + WALSegments.name(segment) }

    /// Opens (creating if needed) the WAL in `directory`, replays the newest
    /// checkpoint and every later segment through `replay`, repairs a corrupt or
    /// torn tail by truncating there, and starts writing a new segment.
    public static func open(directory: String, options: WALOptions = WALOptions(),
                            replay: ((WALRecord) throws -> Void)? = nil) throws -> (WAL, WALReplayReport) {
        try open(directory: directory, options: options, rawReplay: { bytes in
            if let replay { try replay(try WALRecord.decode(bytes)) }
        })
    }

    /// As `open(directory:options:replay:)`, handing replay the raw record bytes.
    public static func open(directory: String, options: WALOptions,
                            rawReplay: (UnsafeRawBufferPointer) throws -> Void) throws -> (WAL, WALReplayReport) {
        try Files.makeDirectory(directory)
        let report = try WALReplay.run(directory: directory, repair: true, rawReplay)
        let next = (try WALSegments.list(directory).last).map { $0 + 1 } ?? (report.checkpoint.map { $0 + 1 } ?? 0)
        let wal = try WAL(directory: directory, options: options, firstSegment: next)
        return (wal, report)
    }

    private init(directory: String, options: WALOptions, firstSegment: Int) throws {
        self.directory = directory
        self.options = options
        self.segment = firstSegment
        try openSegment()
        if case .interval(let ms) = options.fsync {
            let thread = Thread { [weak self] in self?.syncLoop(every: ms) }
            thread.name = "wal-sync"
            syncThread = thread
            thread.start()
        }
    }

    deinit {
        if fd >= 0 { Glibc.close(fd) }
    }

    /// Bytes written, fsyncs run and the time they took since open.
    public var stats: WALStats {
        condition.lock(); defer { condition.unlock() }
        return WALStats(bytesWritten: written, fsyncs: fsyncs, fsyncSeconds: fsyncSeconds)
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

    /// Writes the records as one commit and returns its end position without
    /// waiting for an fsync, so a caller can release its own locks first and
    /// then call `waitUntilDurable(_:)`.
    public func write(_ records: [[UInt8]]) throws -> UInt64 {
        condition.lock()
        defer { condition.unlock() }
        if let failure { throw failure }
        guard !closed else { throw WALClosedError() }
        do {
            var used = 0
            for record in records {
                used = try frameRecord(record, at: used)
            }
            try flush(used)
        } catch {
            // A partial write leaves the segment in an unknown state; refuse more
            // appends rather than acknowledge data behind a hole.
            failure = error
            throw error
        }
        return written
    }

    /// With `fsync: always`, waits until an fsync covers `position`; otherwise
    /// returns at once (the data is already in the OS page cache).
    public func waitUntilDurable(_ position: UInt64) throws {
        guard options.fsync == .always else { return }
        condition.lock()
        defer { condition.unlock() }
        try waitForSync(covering: position)
    }

    public func log(_ records: WALRecord...) throws {
        try log(records.map { $0.encoded() })
    }

    /// Forces everything written so far to stable storage.
    public func sync() throws {
        condition.lock()
        defer { condition.unlock() }
        try waitForSync(covering: written)
    }

    /// Finishes the current segment and starts the next; returns the finished index.
    @discardableResult
    public func cutSegment() throws -> Int {
        condition.lock()
        defer { condition.unlock() }
        let finished = segment
        try nextSegment()
        return finished
    }

    /// Pads and syncs the current segment and stops the background syncer.
    public func close() throws {
        condition.lock()
        if closed { condition.unlock(); return }
        closed = true
        while syncing { condition.wait() }
        defer {
            if fd >= 0 { Glibc.close(fd); fd = -1 }
            condition.broadcast()
            condition.unlock()
        }
        try finishSegment()
    }

    // MARK: - Framing (lock held)

    /// Frames one record into `frame` after `used` bytes; returns the new length.
    /// Cuts a segment when the record does not fit in the current one.
    private func frameRecord(_ record: [UInt8], at used: Int) throws -> Int {
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

        var used = used
        var freshSegment = false
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
            if freshSegment {
                // Larger than a whole segment: it gets an oversized segment to itself.
                pagesLeft = UInt64.max // CS_WAL_PAGES_UNLIMITED
                continue
            }
            try flush(used)
            used = 0
            try nextSegment()
            freshSegment = true
        }
    }

    private func flush(_ count: Int) throws {
        guard count > 0 else { return }
        let path = segmentPath
        try frame.withUnsafeBytes { try Files.writeAll(fd, UnsafeRawBufferPointer(rebasing: $0[0..<count]), path: path) }
        written += UInt64(count)
    }

    private func openSegment() throws {
        fd = try Files.create(segmentPath)
        pageOffset = 0
        pagesLeft = UInt64(options.segmentSize / WAL.pageSize - 1)
        try Files.syncDirectory(directory)
    }

    /// Zero-fills the current page, syncs and closes the segment.
    private func finishSegment() throws {
        var pad = [UInt8](repeating: 0, count: WAL.pageSize)
        let n = pad.withUnsafeMutableBufferPointer { cs_wal_pad_page($0.baseAddress, $0.count, pageOffset) }
        try CodecError.check(n)
        if n > 0 {
            let path = segmentPath
            try pad.withUnsafeBytes { try Files.writeAll(fd, UnsafeRawBufferPointer(rebasing: $0[0..<Int(n)]), path: path) }
            written += UInt64(n)
        }
        try Files.sync(fd, path: segmentPath)
        synced = written
    }

    private func nextSegment() throws {
        while syncing { condition.wait() }
        try finishSegment()
        Glibc.close(fd)
        fd = -1
        segment += 1
        try openSegment()
    }

    // MARK: - Durability (lock held)

    /// Group commit: one thread runs fsync with the lock released while others
    /// keep writing; whoever still needs a sync afterwards runs the next one.
    private func waitForSync(covering target: UInt64) throws {
        while synced < target {
            if let failure { throw failure }
            if syncing { condition.wait(); continue }
            syncing = true
            let upTo = written
            let syncFd = fd
            let path = segmentPath
            condition.unlock()
            var error: Error?
            let started = ContinuousClock.now
            do { try Files.sync(syncFd, path: path) } catch let e { error = e }
            let took = ContinuousClock.now - started
            condition.lock()
            fsyncs += 1
            fsyncSeconds += Double(took.components.seconds) + Double(took.components.attoseconds) * 1e-18
            Self.fsyncDuration.record(duration: took)
            syncing = false
            if let error { failure = error; condition.broadcast(); throw error }
            synced = max(synced, upTo)
            condition.broadcast()
        }
    }

    /// Every WAL's fsync latency, through swift-metrics (a no-op until the
    /// process bootstraps a metrics backend, as the node does).
    private static let fsyncDuration = Metrics.Timer(label: "muninn_wal_fsync_duration_seconds")

    private func syncLoop(every ms: Int) {
        condition.lock()
        defer { condition.unlock() }
        while !closed {
            _ = condition.wait(until: Date().addingTimeInterval(Double(ms) / 1000))
            if closed { break }
            if synced < written { try? waitForSync(covering: written) }
        }
    }
}

public struct WALStats: Sendable, Equatable {
    public var bytesWritten: UInt64
    public var fsyncs: UInt64
    public var fsyncSeconds: Double
}

public struct WALClosedError: Error, CustomStringConvertible {
    public var description: String { "the WAL is closed" }
}
