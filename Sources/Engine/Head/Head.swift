import CStorage
import Formats
import Foundation

/// The in-memory part of a tenant's database: series keyed by label set, their
/// open and closed XOR chunks, out-of-order samples, and the postings index.
///
/// Series live in parallel arrays indexed by a series id; per series that is
/// the C chunk state, label symbol ids and a few optional references — a few
/// hundred bytes with its chunk buffer. Ids are internal: the WAL, commits and
/// checkpoints name series by ref, assigned from 1 upward and never reused, so
/// WAL records stay unambiguous. Ids are given in creation order, so `refs` is
/// ascending, and once most ids belong to dropped series the live ones are
/// renumbered 0..<live (`reclaimIfMostlyDead`): memory follows the live
/// series, not every series ever created. One lock guards everything; queries
/// copy what they need under it and decode outside it, so no id outlives a
/// hold of the lock.
package final class Head: @unchecked Sendable {
    package let chunkRange: Int64
    static let initialChunkCapacity = 96

    let lock = NSLock()

    /// Seeds the hashes of label strings and label sets, which clients choose:
    /// random per process unless a test fixes it, so collisions cannot be
    /// prepared offline. No hash is persisted.
    let hashSeed: UInt64
    /// Bounds of the 32-bit indexes (lowered by tests).
    var capacity = HeadCapacity()

    // All state below is guarded by `lock`.
    var symbols: SymbolTable
    var chunks: [cs_head_chunk] = []
    var labelStart: [UInt32] = []
    /// Label symbol ids of every series id, at `labelStart[id]`; slots of
    /// dropped series stay until `reclaimIfMostlyDead` compacts them away.
    var labelSyms: [UInt32] = []
    /// Entries of `labelSyms` that belong to live series.
    var liveLabelRefs = 0
    var closed: [ClosedChunks?] = []
    var ooo: [OutOfOrderSamples?] = []
    var hashes: [UInt64] = []
    var alive: [Bool] = []
    /// The ref of every id, ascending.
    var refs: [UInt64] = []
    var byHash = SeriesHashTable()
    var postings: [UInt64: [UInt32]] = [:]
    var valuesByName: [UInt32: [UInt32]] = [:]
    var metricSeries: [UInt32: Int] = [:]
    var allSeries: [UInt32] = []
    let metricNameSymbol: UInt32
    private var idScratch: [UInt32] = []
    /// Commit-local bookkeeping of `HeadAppender`, reused across commits.
    var appendScratch = HeadAppender.Scratch()

    /// Live series.
    package internal(set) var seriesCount = 0
    /// Time span of the samples held (Int64.max / Int64.min while empty).
    package internal(set) var minTime = Int64.max
    package internal(set) var maxTime = Int64.min
    /// Oldest time an in-order sample may have: raised when blocks are cut, so
    /// nothing lands in a range that is already persisted.
    package internal(set) var minValidTime = Int64.min
    /// Refs handed out so far; the next series gets `lastRef + 1`.
    package internal(set) var lastRef: UInt64 = 0

    package convenience init(chunkRange: Int64 = 2 * 3_600_000) {
        self.init(chunkRange: chunkRange, hashSeed: HashSeed.process)
    }

    init(chunkRange: Int64, hashSeed: UInt64) {
        precondition(chunkRange > 0)
        self.chunkRange = chunkRange
        self.hashSeed = hashSeed
        symbols = SymbolTable(seed: hashSeed)
        metricNameSymbol = Self.internMetricName(&symbols)
    }

    /// "__name__" is interned first, so it has the same id in every table the
    /// head rebuilds, and is pinned: it never counts as dead.
    static func internMetricName(_ symbols: inout SymbolTable) -> UInt32 {
        let id = symbols.intern("__name__")
        symbols.retain(id)
        return id
    }

    deinit {
        for c in chunks where c.buf != nil { c.buf.deallocate() }
    }

    // MARK: - Series identity (lock held)

    /// Series are identified by their label symbol ids (name, value, name, …):
    /// the hash covers those ids, so resolving incoming labels costs one symbol
    /// probe per string and candidates compare as integers.
    func hash(ids: UnsafeBufferPointer<UInt32>) -> UInt64 {
        cs_hash64(ids.baseAddress, ids.count * 4, hashSeed ^ 0x5345_5249)
    }

    func labelCount(_ id: Int) -> Int {
        let end = id + 1 < labelStart.count ? Int(labelStart[id + 1]) : labelSyms.count
        return (end - Int(labelStart[id])) / 2
    }

    func labels(of id: Int) -> Labels {
        let start = Int(labelStart[id])
        var out: [Label] = []
        out.reserveCapacity(labelCount(id))
        for i in 0..<labelCount(id) {
            out.append(Label(symbols[labelSyms[start + 2 * i]], symbols[labelSyms[start + 2 * i + 1]]))
        }
        return Labels(sorted: out)
    }

    private func matches(_ id: Int, _ ids: UnsafeBufferPointer<UInt32>) -> Bool {
        guard alive[id], labelCount(id) * 2 == ids.count else { return false }
        let start = Int(labelStart[id])
        for i in 0..<ids.count where labelSyms[start + i] != ids[i] { return false }
        return true
    }

    private func find(_ ids: UnsafeBufferPointer<UInt32>, hash: UInt64) -> Int? {
        byHash.find(hash) { matches(Int($0), ids) }.map(Int.init)
    }

    /// The id of the live series with exactly these labels.
    func lookup(_ labels: Labels) -> Int? {
        idScratch.removeAll(keepingCapacity: true)
        for l in labels.labels {
            // A string never seen cannot be part of an existing series.
            guard let n = symbols.id(l.name), let v = symbols.id(l.value) else { return nil }
            idScratch.append(n)
            idScratch.append(v)
        }
        return idScratch.withUnsafeBufferPointer { find($0, hash: hash(ids: $0)) }
    }

    /// The id of the live series whose labels are these byte ranges of `bytes`
    /// (sorted, unique names, as `AppendBatch.addRaw` requires): no `String`
    /// is made. `symbols` is a reader over this head's symbol table.
    func lookup(
        bytes: UnsafeBufferPointer<UInt8>, spans: UnsafeBufferPointer<AppendBatch.LabelSpan>,
        symbols reader: SymbolTable.Reader
    ) -> Int? {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: spans.count * 2) { ids in
            let resolved = { () -> Bool in
                for (i, s) in spans.enumerated() {
                    guard let n = reader.id(UnsafeBufferPointer(rebasing: bytes[Int(s.nameStart)..<Int(s.nameStart + s.nameCount)])),
                        let v = reader.id(UnsafeBufferPointer(rebasing: bytes[Int(s.valueStart)..<Int(s.valueStart + s.valueCount)]))
                    else { return false }
                    ids[2 * i] = n
                    ids[2 * i + 1] = v
                }
                return true
            }()
            guard resolved else { return nil }
            let view = UnsafeBufferPointer(ids)
            return find(view, hash: hash(ids: view))
        }
    }

    /// The id of the live series `ref` (lock held), by binary search of
    /// `refs` near a known pair: refs are unique and ascending with ids, so
    /// ids never lie further apart than their refs, and refs listed in
    /// creation order (WAL records, most batches) are found in a step. The
    /// default pair stands before the first series (refs start at 1).
    func liveID(ref: UInt64, near known: (ref: UInt64, id: Int) = (0, -1)) -> Int? {
        var lo: Int, hi: Int
        if ref > known.ref {
            lo = known.id + 1
            let gap = ref - known.ref
            hi = gap < UInt64(refs.count - lo) ? lo + Int(gap) : refs.count
        } else {
            guard ref < known.ref else { return known.id >= 0 && alive[known.id] ? known.id : nil }
            hi = known.id
            let gap = known.ref - ref
            lo = gap < UInt64(hi) ? hi - Int(gap) : 0
        }
        guard lo < hi else { return nil }
        // Next in creation order, or (until ids are first renumbered) at ref - 1.
        if refs[lo] == ref { return alive[lo] ? lo : nil }
        if refs[hi - 1] == ref { return alive[hi - 1] ? hi - 1 : nil }
        while lo < hi {
            let mid = (lo + hi) / 2
            if refs[mid] < ref { lo = mid + 1 } else { hi = mid }
        }
        guard lo < refs.count, refs[lo] == ref, alive[lo] else { return nil }
        return lo
    }

    /// Creates a series under `ref` (from the WAL during replay, or `lastRef + 1`).
    @discardableResult
    func createSeries(ref: UInt64, labels: Labels) -> Int {
        var ids: [UInt32] = []
        ids.reserveCapacity(labels.labels.count * 2)
        for l in labels.labels {
            ids.append(symbols.intern(l.name))
            ids.append(symbols.intern(l.value))
        }
        return ids.withUnsafeBufferPointer { createSeries(ref: ref, ids: $0) }
    }

    /// Creates a series from interned label ids (name, value pairs sorted by name).
    /// The caller has checked `indexProblem` for it.
    @discardableResult
    func createSeries(ref: UInt64, ids: UnsafeBufferPointer<UInt32>) -> Int {
        precondition(
            ref <= capacity.maxSeriesRef && refs.count < capacity.maxSeriesIDs
                && ids.count <= capacity.maxLabelRefs - labelSyms.count,
            "series index full: callers check indexProblem first")
        // Ids follow refs, which keeps `refs` ascending.
        precondition(ref > lastRef, "series refs must be created in increasing order")
        let id = refs.count
        let h = hash(ids: ids)
        chunks.append(cs_head_chunk())
        labelStart.append(UInt32(labelSyms.count))
        closed.append(nil)
        ooo.append(nil)
        hashes.append(h)
        alive.append(true)
        refs.append(ref)
        lastRef = ref
        labelSyms.append(contentsOf: ids)
        liveLabelRefs += ids.count
        for id in ids { symbols.retain(id) }
        for i in stride(from: 0, to: ids.count, by: 2) {
            let n = ids[i], v = ids[i + 1]
            let key = Postings.key(n, v)
            if postings[key] == nil { valuesByName[n, default: []].append(v) }
            postings[key, default: []].append(UInt32(id))
            if n == metricNameSymbol { metricSeries[v, default: 0] += 1 }
        }
        allSeries.append(UInt32(id))
        byHash.insert(h, UInt32(id))
        seriesCount += 1
        return id
    }

    /// Series of this metric name currently in memory.
    func seriesCount(metric name: String) -> Int {
        symbols.id(name).flatMap { metricSeries[$0] } ?? 0
    }

    // MARK: - Samples (lock held)

    /// Time and value bits of the series' newest in-order sample.
    func newest(_ id: Int) -> (t: Int64, v: UInt64)? {
        if chunks[id].xor.count > 0 { return (chunks[id].xor.t, chunks[id].xor.v) }
        return nil
    }

    /// Appends an in-order sample, cutting and growing chunks as needed.
    /// Returns CS_HEAD_APPENDED, CS_HEAD_DUPLICATE or a negative error.
    @discardableResult
    func appendInOrder(_ id: Int, _ t: Int64, _ vbits: UInt64) -> Int32 {
        while true {
            let rc = cs_head_append(&chunks[id], t, vbits)
            switch rc {
            case CS_HEAD_CUT: cutChunk(id, at: t)
            case CS_HEAD_GROW: growChunk(id)
            default:
                if rc == CS_HEAD_APPENDED {
                    minTime = min(minTime, t)
                    maxTime = max(maxTime, t)
                }
                return rc
            }
        }
    }

    private func cutChunk(_ id: Int, at t: Int64) {
        var c = chunks[id]
        let capacity: Int
        if let buf = c.buf {
            if c.xor.count > 0 {
                let bytes = XORChunk.copyBytes(c.xor, buf)
                let list = closed[id] ?? ClosedChunks()
                list.chunks.append(ChunkMeta(minTime: c.min_time, maxTime: c.xor.t, chunk: XORChunk(bytes: bytes)))
                closed[id] = list
            }
            capacity = Int(c.cap)
        } else {
            capacity = Self.initialChunkCapacity
            c.buf = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        }
        _ = cs_head_chunk_start(&c, c.buf, capacity, t, chunkRange)
        chunks[id] = c
    }

    private func growChunk(_ id: Int) {
        let old = chunks[id].buf!
        let oldCapacity = Int(chunks[id].cap)
        let capacity = oldCapacity * 2
        let new = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        new.initialize(from: old, count: oldCapacity)
        (new + oldCapacity).initialize(repeating: 0, count: capacity - oldCapacity)
        old.deallocate()
        chunks[id].buf = new
        chunks[id].cap = UInt32(capacity)
    }

    /// Stores an out-of-order sample; false when its timestamp is already there.
    func appendOutOfOrder(_ id: Int, _ sample: Sample) -> Bool {
        let buffer = ooo[id] ?? OutOfOrderSamples()
        ooo[id] = buffer
        let (inserted, _) = buffer.insert(sample)
        if inserted {
            minTime = min(minTime, sample.timestamp)
        }
        return inserted
    }

    /// The sample stored at exactly `t` in any of the series' chunks or buffers
    /// (lock held). Decodes at most the chunks whose span covers `t`; used only
    /// for out-of-order samples, which must not silently replace stored data.
    func storedSample(_ id: Int, at t: Int64) -> Sample? {
        func find(_ metas: [ChunkMeta]) -> Sample? {
            for meta in metas where meta.minTime <= t && t <= meta.maxTime {
                if let s = (try? meta.chunk.samples())?.first(where: { $0.timestamp == t }) { return s }
            }
            return nil
        }
        if let s = ooo[id]?.contains(timestamp: t) { return s }
        if let metas = ooo[id]?.chunks, let s = find(metas) { return s }
        if let metas = closed[id]?.chunks, let s = find(metas) { return s }
        let c = chunks[id]
        if let buf = c.buf, c.xor.count > 0, c.min_time <= t, t <= c.xor.t {
            let bytes = XORChunk.copyBytes(c.xor, buf)
            return find([ChunkMeta(minTime: c.min_time, maxTime: c.xor.t, chunk: XORChunk(bytes: bytes))])
        }
        return nil
    }

    /// Copies what a query needs of one series (lock held).
    func snapshot(_ id: Int, mint: Int64, maxt: Int64) -> SeriesData {
        var metas = closed[id]?.chunks.filter { $0.maxTime >= mint && $0.minTime <= maxt } ?? []
        let c = chunks[id]
        if let buf = c.buf, c.xor.count > 0, c.xor.t >= mint, c.min_time <= maxt {
            let bytes = XORChunk.copyBytes(c.xor, buf)
            metas.append(ChunkMeta(minTime: c.min_time, maxTime: c.xor.t, chunk: XORChunk(bytes: bytes)))
        }
        var outOfOrder: [ChunkMeta] = []
        var buffered: [Sample] = []
        if let o = ooo[id] {
            outOfOrder = o.chunks.filter { $0.maxTime >= mint && $0.minTime <= maxt }
            buffered = o.buffer.filter { $0.timestamp >= mint && $0.timestamp <= maxt }
        }
        return SeriesData(
            labels: labels(of: id), chunks: metas, outOfOrderChunks: outOfOrder,
            outOfOrderSamples: buffered)
    }
}
