import Formats

/// Bounds on one read: how many series it may return and until when it may run.
public struct ReadBounds: Sendable {
    public var maxSeries: Int
    public var deadline: ContinuousClock.Instant
    /// Series already returned by earlier cursors of the same request; they count against `maxSeries`.
    public var seriesBefore: Int

    public init(maxSeries: Int, deadline: ContinuousClock.Instant, seriesBefore: Int = 0) {
        self.maxSeries = maxSeries
        self.deadline = deadline
        self.seriesBefore = seriesBefore
    }
}

/// Series matching a selector, in label order, one at a time: blocks are read
/// series by series as the cursor advances, so a response can be encoded while
/// the rest is still on disk. What the head holds is copied when the cursor is
/// made (as `TenantDB.select` does, so a block cut during the read can neither
/// hide nor repeat data), at most `maxSeries` + 1 series of it.
///
/// A series present in several places comes out once with all its chunks,
/// blocks first (oldest first), then data being written to a block, then the
/// head, as `TenantDB.select` merges them. More than `maxSeries` series, or
/// work past the deadline, throws `ReadLimitError`.
public struct SeriesCursor: Sendable {
    private var sources: [SeriesSource]
    private var current: [SeriesData?]
    private let bounds: ReadBounds
    /// Series returned so far, `bounds.seriesBefore` included.
    public private(set) var count: Int

    init(sources: [SeriesSource], bounds: ReadBounds) throws {
        self.sources = sources
        self.bounds = bounds
        count = bounds.seriesBefore
        current = []
        for i in self.sources.indices { current.append(try self.sources[i].next()) }
    }

    /// The next series, nil when all are out.
    public mutating func next() throws -> SeriesData? {
        if ContinuousClock.now >= bounds.deadline { throw ReadLimitError.timeout }
        var smallest: Labels?
        for case let s? in current where smallest.map({ s.labels < $0 }) ?? true { smallest = s.labels }
        guard let labels = smallest else { return nil }
        var merged: SeriesData?
        for i in current.indices {
            guard let s = current[i], s.labels == labels else { continue }
            if var m = merged {
                m.chunks += s.chunks
                m.outOfOrderChunks += s.outOfOrderChunks
                m.outOfOrderSamples += s.outOfOrderSamples
                merged = m
            } else {
                merged = s
            }
            current[i] = try sources[i].next()
        }
        count += 1
        if count > bounds.maxSeries { throw ReadLimitError.tooManySeries(limit: bounds.maxSeries) }
        return merged
    }
}

/// One sorted stream of series: copied ones, or a block's read on demand.
struct SeriesSource: Sendable {
    private var copied: [SeriesData] = []
    private var block: BlockReader?
    private var ids: [UInt32] = []
    private var position = 0
    private let mint: Int64, maxt: Int64

    init(copied: [SeriesData]) {
        self.copied = copied
        mint = .min
        maxt = .max
    }

    init(block: BlockReader, mint: Int64, maxt: Int64, matchers: [LabelMatcher]) {
        self.block = block
        self.mint = mint
        self.maxt = maxt
        if block.meta.maxTime > mint, block.meta.minTime <= maxt {
            ids = BlockPostings(index: block.index).select(matchers)
        }
    }

    mutating func next() throws -> SeriesData? {
        guard let block else {
            guard position < copied.count else { return nil }
            defer { position += 1 }
            return copied[position]
        }
        while position < ids.count {
            let series = try block.index.series(ids[position])
            position += 1
            var chunks: [ChunkMeta] = []
            for c in series.chunks where c.maxTime >= mint && c.minTime <= maxt {
                let record = try block.chunk(c.ref)
                chunks.append(ChunkMeta(minTime: c.minTime, maxTime: c.maxTime, chunk: XORChunk(bytes: record.data)))
            }
            if !chunks.isEmpty { return SeriesData(labels: series.labels, chunks: chunks) }
        }
        return nil
    }
}

extension TenantDB {
    /// A cursor over the series matching `matchers` with data in [mint, maxt];
    /// see `SeriesCursor`. Throws `ReadLimitError.tooManySeries` at once when the
    /// head alone holds more of them than `bounds` leave room for.
    public func cursor(mint: Int64, maxt: Int64, matchers: [LabelMatcher], bounds: ReadBounds) throws -> SeriesCursor {
        if ContinuousClock.now >= bounds.deadline { throw ReadLimitError.timeout }
        let room = max(0, bounds.maxSeries - bounds.seriesBefore)
        // Regexes run here, before the state lock: only postings are resolved under it.
        let plan = head.plan(matchers)
        stateLock.lock()
        let fromHead = head.select(mint: mint, maxt: maxt, plan: plan, limit: room)
        let inFlight = pending
        let persisted = blocks
        stateLock.unlock()
        guard let fromHead else { throw ReadLimitError.tooManySeries(limit: bounds.maxSeries) }

        var taken: [SeriesData] = []
        for block in inFlight {
            for s in block.series where matchers.allSatisfy({ $0.matches(s.labels[$0.name] ?? "") }) {
                let chunks = s.chunks.filter { $0.maxTime >= mint && $0.minTime <= maxt }
                let late = s.outOfOrder.filter { $0.timestamp >= mint && $0.timestamp <= maxt }
                if chunks.isEmpty && late.isEmpty { continue }
                if taken.count == room { throw ReadLimitError.tooManySeries(limit: bounds.maxSeries) }
                taken.append(SeriesData(labels: s.labels, chunks: chunks, outOfOrderSamples: late))
            }
        }
        taken.sort { $0.labels < $1.labels }
        var sources = persisted.map { SeriesSource(block: $0, mint: mint, maxt: maxt, matchers: matchers) }
        sources.append(SeriesSource(copied: taken))
        sources.append(SeriesSource(copied: fromHead))
        return try SeriesCursor(sources: sources, bounds: bounds)
    }
}

extension Head {
    /// `select`, but nil as soon as more than `limit` series have data in range,
    /// so a broad selector copies at most `limit` + 1 series.
    func select(mint: Int64, maxt: Int64, plan: MatcherPlan, limit: Int) -> [SeriesData]? {
        lock.lock()
        defer { lock.unlock() }
        var out: [SeriesData] = []
        for id in sortedByLabels(HeadPostings(head: self).select(plan)) {
            let data = snapshot(Int(id), mint: mint, maxt: maxt)
            if data.chunks.isEmpty && data.outOfOrderChunks.isEmpty && data.outOfOrderSamples.isEmpty { continue }
            if out.count == limit { return nil }
            out.append(data)
        }
        return out
    }
}
