import Formats
import Foundation

/// Cutting the head into blocks.
extension TenantDB {
    /// The block range: blocks are aligned to multiples of it.
    public var blockRange: Int64 { options.chunkRange }

    /// Writes the oldest whole block range while the head spans more than 1.5
    /// ranges (Prometheus's rule), then checkpoints the WAL. Appends keep flowing
    /// while blocks are written: only taking the data out of the head holds its
    /// lock, a batch of series at a time (`Head.take`).
    @discardableResult
    public func compact() throws -> [BlockMeta] {
        try cut(all: false)
    }

    /// Writes the whole head out as blocks (flush endpoint, shutdown, idle tenants).
    @discardableResult
    public func flush() throws -> [BlockMeta] {
        try cut(all: true)
    }

    /// Flushes the head if no sample arrived for `idleTimeout` seconds.
    @discardableResult
    public func flushIfIdle(idleTimeout: TimeInterval, now: Date = Date()) throws -> [BlockMeta] {
        lastAppendLock.lock()
        let idle = now.timeIntervalSince(lastAppend) >= idleTimeout
        lastAppendLock.unlock()
        guard idle, head.seriesCount > 0 else { return [] }
        return try flush()
    }

    /// Takes due data out of the head into `pending`, one entry per block range,
    /// and writes every pending block, oldest first. A block that fails to write
    /// stays pending (and queryable) and is retried first by the next cut; the
    /// logs are truncated only once nothing is pending, since a checkpoint keeps
    /// only what the head still holds.
    private func cut(all: Bool) throws -> [BlockMeta] {
        compactionLock.lock()
        defer { compactionLock.unlock() }
        var written = try writePending()
        while true {
            let (lo, hi) = head.timeRange
            guard lo <= hi else { break }
            let end: Int64?
            if all {
                end = nil
            } else {
                // An overflowing span is wider than any block range.
                let (span, overflow) = hi.subtractingReportingOverflow(lo)
                guard overflow || span > blockRange / 2 * 3 else { break }
                // Truncating division keeps `lo / blockRange * blockRange` between 0
                // and lo, and lo is 1.5 ranges below hi: adding a range cannot overflow.
                end = (lo / blockRange) * blockRange + blockRange
            }
            stateLock.lock()
            let taken = head.take(before: end ?? .max, all: all)
            pending += pendingBlocks(taken, wholeBelow: end ?? hi)
            stateLock.unlock()
            written += try writePending()
            if all { break }
        }
        if !written.isEmpty { try truncateLogs() }
        return written
    }

    /// Splits taken data into one pending block per block range. A range whose
    /// bounds do not fit in Int64 (timestamps at the very ends, only from a WAL
    /// written before such samples were refused) cannot be a block: its samples
    /// are dropped with an error logged.
    /// - Parameter wholeBelow: ranges ending at or below it are whole; the one
    ///   holding it (the newest of a flush) ends just after its newest sample.
    private func pendingBlocks(_ taken: [TakenSeries], wholeBelow: Int64) -> [PendingBlock] {
        var ranges: [Int64: [TakenSeries]] = [:]
        var dropped = 0
        for series in taken {
            var byRange: [Int64: TakenSeries] = [:]
            for c in series.chunks {
                guard let range = head.blockRangeStart(c.minTime) else { dropped += c.chunk.count; continue }
                byRange[range, default: TakenSeries(labels: series.labels, chunks: [], outOfOrder: [])].chunks.append(c)
            }
            for s in series.outOfOrder {
                guard let range = head.blockRangeStart(s.timestamp) else { dropped += 1; continue }
                byRange[range, default: TakenSeries(labels: series.labels, chunks: [], outOfOrder: [])].outOfOrder.append(s)
            }
            for (range, part) in byRange { ranges[range, default: []].append(part) }
        }
        if dropped > 0 {
            logger.error(
                "dropped samples whose block range does not fit in Int64",
                metadata: [
                    "tenant": "\(tenant)", "samples": "\(dropped)"
                ])
        }
        return ranges.keys.sorted().map { range in
            let series = ranges[range]!
            var hi = Int64.min
            for s in series {
                for c in s.chunks { hi = max(hi, c.maxTime) }
                if let last = s.outOfOrder.last { hi = max(hi, last.timestamp) }
            }
            // blockRangeStart guarantees range + blockRange fits, and hi < it.
            let maxTime = range + blockRange <= wholeBelow ? range + blockRange : hi + 1
            return PendingBlock(maxTime: maxTime, series: series)
        }
    }

    /// Writes the pending blocks in order, each leaving `pending` only once it is
    /// loaded. Throws at the first failure; that block and the later ones stay.
    private func writePending() throws -> [BlockMeta] {
        var metas: [BlockMeta] = []
        while true {
            stateLock.lock()
            let next = pending.first
            stateLock.unlock()
            guard let next else { return metas }
            var series: [(labels: Labels, chunks: [ChunkMeta])] = []
            var lo = Int64.max
            for s in next.series {
                let chunks = s.outOfOrder.isEmpty ? s.chunks : try merged(s.chunks, s.outOfOrder)
                if let first = chunks.map(\.minTime).min() { lo = min(lo, first) }
                series.append((s.labels, chunks))
            }
            var reader: BlockReader?
            if let meta = try BlockWriter.write(series: series, minTime: lo, maxTime: next.maxTime, into: directory) {
                let path = directory + "/" + meta.ulid.description
                do {
                    reader = try BlockReader(directory: path)
                } catch {
                    // A retry writes the block again: leave no second copy behind.
                    try? Files.remove(path)
                    throw error
                }
                metas.append(meta)
            }
            stateLock.lock()
            if let reader { blocks = (blocks + [reader]).sorted { $0.meta.minTime < $1.meta.minTime } }
            pending.removeFirst()
            stateLock.unlock()
        }
    }

    /// In-order chunks plus out-of-order samples of one range, merged in time
    /// (in-order wins a tie) and re-encoded in chunks of at most 120 samples.
    private func merged(_ chunks: [ChunkMeta], _ late: [Sample]) throws -> [ChunkMeta] {
        let samples = try SeriesData(labels: Labels([]), chunks: chunks, outOfOrderSamples: late).samples()
        var out: [ChunkMeta] = []
        for start in stride(from: 0, to: samples.count, by: 120) {
            let part = samples[start..<min(start + 120, samples.count)]
            out.append(
                ChunkMeta(
                    minTime: part.first!.timestamp, maxTime: part.last!.timestamp,
                    chunk: try XORChunk(encoding: part)))
        }
        return out
    }

    /// After blocks are safe on disk: fold the WAL into a checkpoint that keeps
    /// only live series and samples the head still needs, and rewrite the WBL to
    /// hold just the out-of-order samples still in memory.
    private func truncateLogs() throws {
        let last = try wal.cutSegment()
        let minTime = head.minValidTime
        try WALCheckpoint.create(
            directory: directory + "/wal", upTo: last, options: options.wal,
            keep: { [head] in head.isAlive($0) }, minTime: minTime)
        let lastWBL = try wbl.cutSegment()
        let remaining = head.outOfOrderSnapshot()
        if !remaining.isEmpty { try wbl.log([WALRecord.samples(remaining).encoded()]) }
        try wbl.sync()
        for index in try WALSegments.list(directory + "/wbl") where index <= lastWBL {
            try Files.remove(directory + "/wbl/" + WALSegments.name(index))
        }
    }
}

/// Data taken out of the head for one block, until that block is loaded.
struct PendingBlock {
    var maxTime: Int64
    var series: [TakenSeries]
}

extension Head {
    /// The start of `t`'s block range (aligned down), or nil when the range's
    /// start or end does not fit in Int64.
    func blockRangeStart(_ t: Int64) -> Int64? {
        let q = t / chunkRange
        let (start, overflow) = (t % chunkRange != 0 && t < 0 ? q - 1 : q).multipliedReportingOverflow(by: chunkRange)
        guard !overflow, !start.addingReportingOverflow(chunkRange).overflow else { return nil }
        return start
    }

    /// The timestamps whose whole block range fits in Int64: the aligned ranges
    /// at either end start or end outside it.
    var storableTimeRange: ClosedRange<Int64> {
        (Int64.min / chunkRange) * chunkRange...(Int64.max / chunkRange) * chunkRange - 1
    }

    /// (minTime, maxTime) of what the head holds; min > max when empty.
    var timeRange: (Int64, Int64) {
        lock.lock(); defer { lock.unlock() }
        return (minTime, maxTime)
    }
}

extension TenantDB {
    /// Deletes local blocks past `retention` (only shipped ones unless the
    /// retention says otherwise). Queries stop seeing them before any file goes;
    /// the file work runs without the state lock so queries and cuts never wait
    /// on renames, fsyncs and deletes. A query that took the block list just
    /// before keeps its open readers.
    @discardableResult
    public func applyRetention(_ retention: Retention, shipped: Set<ULID>, now: Int64) throws -> [BlockMeta] {
        let expired = try retention.expired(tenantDirectory: directory, now: now, shipped: shipped, logger: logger)
        guard !expired.isEmpty else { return [] }
        let gone = Set(expired.map(\.ulid))
        stateLock.lock()
        blocks.removeAll { gone.contains($0.meta.ulid) }
        stateLock.unlock()
        try Retention.delete(expired, tenantDirectory: directory, logger: logger)
        return expired
    }
}
