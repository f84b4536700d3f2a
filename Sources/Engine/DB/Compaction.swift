import Foundation

/// Cutting the head into blocks, and reads that merge head, in-flight and
/// persisted data.
extension TenantDB {
    /// The block range: blocks are aligned to multiples of it.
    public var blockRange: Int64 { options.chunkRange }

    /// Writes the oldest whole block range while the head spans more than 1.5
    /// ranges (Prometheus's rule), then checkpoints the WAL. Appends keep flowing
    /// while blocks are written: only taking the data out of the head holds its lock.
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
        stateLock.lock()
        let idle = now.timeIntervalSince(lastAppend) >= idleTimeout
        stateLock.unlock()
        guard idle, head.seriesCount > 0 else { return [] }
        return try flush()
    }

    private func cut(all: Bool) throws -> [BlockMeta] {
        compactionLock.lock()
        defer { compactionLock.unlock() }
        var written: [BlockMeta] = []
        while true {
            let (lo, hi) = head.timeRange
            guard lo <= hi else { break }
            let end: Int64
            if all {
                end = hi &+ 1
            } else {
                guard hi - lo > blockRange / 2 * 3 else { break }
                end = (lo / blockRange) * blockRange + blockRange
            }
            stateLock.lock()
            let taken = head.take(before: end, all: all)
            pending.append(taken)
            stateLock.unlock()
            written += try persist(taken, cutAt: end)
            if all { break }
        }
        if !written.isEmpty { try truncateLogs() }
        return written
    }

    /// Writes taken data as one block per block range (out-of-order samples are
    /// merged into their range's block, re-encoded), loads the blocks, and drops
    /// the in-flight copy. On failure the data stays queryable in `pending`.
    private func persist(_ taken: [TakenSeries], cutAt end: Int64) throws -> [BlockMeta] {
        var ranges: [Int64: [(labels: Labels, chunks: [ChunkMeta])]] = [:]
        for series in taken {
            var byRange: [Int64: (chunks: [ChunkMeta], late: [Sample])] = [:]
            for c in series.chunks { byRange[floorRange(c.minTime), default: ([], [])].chunks.append(c) }
            for s in series.outOfOrder { byRange[floorRange(s.timestamp), default: ([], [])].late.append(s) }
            for (range, part) in byRange {
                let chunks = part.late.isEmpty ? part.chunks : try merged(part.chunks, part.late)
                ranges[range, default: []].append((series.labels, chunks))
            }
        }
        var metas: [BlockMeta] = []
        var readers: [BlockReader] = []
        for range in ranges.keys.sorted() {
            let series = ranges[range]!
            let lo = series.flatMap(\.chunks).map(\.minTime).min()!
            let hi = series.flatMap(\.chunks).map(\.maxTime).max()!
            // A whole range ends at its aligned boundary; the partial newest range
            // of a flush ends just after its newest sample.
            let maxTime = range + blockRange <= end ? range + blockRange : hi + 1
            guard let meta = try BlockWriter.write(series: series, minTime: lo, maxTime: maxTime, into: directory) else { continue }
            metas.append(meta)
            readers.append(try BlockReader(directory: directory + "/" + meta.ulid.description))
        }
        stateLock.lock()
        blocks = (blocks + readers).sorted { $0.meta.minTime < $1.meta.minTime }
        pending.removeFirst()
        stateLock.unlock()
        return metas
    }

    private func floorRange(_ t: Int64) -> Int64 {
        let q = t / blockRange
        return (t % blockRange != 0 && t < 0 ? q - 1 : q) * blockRange
    }

    /// In-order chunks plus out-of-order samples of one range, merged in time
    /// (in-order wins a tie) and re-encoded in chunks of at most 120 samples.
    private func merged(_ chunks: [ChunkMeta], _ late: [Sample]) throws -> [ChunkMeta] {
        let samples = try SeriesData(labels: Labels([]), chunks: chunks, outOfOrderSamples: late).samples()
        var out: [ChunkMeta] = []
        for start in stride(from: 0, to: samples.count, by: 120) {
            let part = samples[start..<min(start + 120, samples.count)]
            out.append(ChunkMeta(minTime: part.first!.timestamp, maxTime: part.last!.timestamp,
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
        try WALCheckpoint.create(directory: directory + "/wal", upTo: last, options: options.wal,
                                 keep: { [head] in head.isAlive($0) }, minTime: minTime)
        let lastWBL = try wbl.cutSegment()
        let remaining = head.outOfOrderSnapshot()
        if !remaining.isEmpty { try wbl.log([WALRecord.samples(remaining).encoded()]) }
        try wbl.sync()
        for index in try WALSegments.list(directory + "/wbl") where index <= lastWBL {
            try Files.remove(directory + "/wbl/" + WALSegments.name(index))
        }
    }

    // MARK: - Reads

    /// Series matching `matchers` with data in [mint, maxt] from blocks, data
    /// being written to a block, and the head; sorted by labels. A series present
    /// in several places is returned once with all its chunks.
    public func select(mint: Int64 = .min, maxt: Int64 = .max, matchers: [LabelMatcher]) throws -> [SeriesData] {
        // Regexes run here, before the state lock: only postings are resolved under it.
        let plan = head.plan(matchers)
        stateLock.lock()
        let fromHead = head.select(mint: mint, maxt: maxt, plan: plan)
        let inFlight = pending
        let persisted = blocks
        stateLock.unlock()

        var merged: [Labels: SeriesData] = [:]
        func add(_ s: SeriesData) {
            if var existing = merged[s.labels] {
                existing.chunks += s.chunks
                existing.outOfOrderChunks += s.outOfOrderChunks
                existing.outOfOrderSamples += s.outOfOrderSamples
                merged[s.labels] = existing
            } else {
                merged[s.labels] = s
            }
        }
        for block in persisted { for s in try block.select(mint: mint, maxt: maxt, matchers: matchers) { add(s) } }
        for taken in inFlight {
            for s in taken where matchers.allSatisfy({ $0.matches(s.labels[$0.name] ?? "") }) {
                let chunks = s.chunks.filter { $0.maxTime >= mint && $0.minTime <= maxt }
                let late = s.outOfOrder.filter { $0.timestamp >= mint && $0.timestamp <= maxt }
                if !chunks.isEmpty || !late.isEmpty { add(SeriesData(labels: s.labels, chunks: chunks, outOfOrderSamples: late)) }
            }
        }
        if merged.isEmpty { return fromHead }
        for s in fromHead { add(s) }
        return merged.values.sorted { $0.labels < $1.labels }
    }

    /// Label names across blocks and head, sorted.
    public func labelNames(matchers: [LabelMatcher] = []) throws -> [String] {
        if matchers.isEmpty {
            stateLock.lock()
            var names = Set(head.labelNames())
            for block in blocks { names.formUnion(block.index.labelNames().filter { !$0.isEmpty }) }
            stateLock.unlock()
            return names.sorted(by: utf8Less)
        }
        var names = Set<String>()
        for s in try select(matchers: matchers) { names.formUnion(s.labels.labels.map(\.name)) }
        return names.sorted(by: utf8Less)
    }

    /// Values of label `name` across blocks and head, sorted.
    public func labelValues(_ name: String, matchers: [LabelMatcher] = []) throws -> [String] {
        if matchers.isEmpty {
            stateLock.lock()
            var values = Set(head.labelValues(name))
            for block in blocks { values.formUnion(block.index.labelValues(name)) }
            stateLock.unlock()
            return values.sorted(by: utf8Less)
        }
        var values = Set<String>()
        for s in try select(matchers: matchers) { if let v = s.labels[name] { values.insert(v) } }
        return values.sorted(by: utf8Less)
    }

    /// Persisted blocks' metadata, ascending by time.
    public var blockMetas: [BlockMeta] {
        stateLock.lock(); defer { stateLock.unlock() }
        return blocks.map(\.meta)
    }
}

extension Head {
    /// (minTime, maxTime) of what the head holds; min > max when empty.
    var timeRange: (Int64, Int64) {
        lock.lock(); defer { lock.unlock() }
        return (minTime, maxTime)
    }
}

extension TenantDB {
    /// Deletes local blocks past `retention` (only shipped ones unless the
    /// retention says otherwise) and stops serving them, atomically for queries.
    @discardableResult
    public func applyRetention(_ retention: Retention, shipped: Set<ULID>, now: Int64) throws -> [BlockMeta] {
        stateLock.lock()
        defer { stateLock.unlock() }
        let deleted = try retention.apply(tenantDirectory: directory, now: now, shipped: shipped)
        let gone = Set(deleted.map(\.ulid))
        blocks.removeAll { gone.contains($0.meta.ulid) }
        return deleted
    }
}
