import Formats

/// Per-process seed of the head's hash tables.
enum HashSeed {
    /// From the OS (getrandom on Linux), once per process.
    static let process: UInt64 = {
        var rng = SystemRandomNumberGenerator()
        return rng.next()
    }()
}

/// How far the head's 32-bit indexes may grow. A series that would pass a
/// bound is rejected instead of trapping on a conversion.
struct HeadCapacity {
    /// Refs are never reused; bounded far below UInt64.max so that counting
    /// on from the last one cannot overflow.
    var maxSeriesRef = UInt64(Int64.max)
    /// Series ids are UInt32 and `SeriesHashTable` reserves UInt32.max. Ids of
    /// dropped series come back when the head renumbers.
    var maxSeriesIDs = Int(UInt32.max)
    var maxSymbols = SymbolTable.maxCount
    var maxSymbolBytes = SymbolTable.maxBytes
    /// `labelStart` offsets are UInt32.
    var maxLabelRefs = Int(UInt32.max)
}

/// A WAL names more series or label strings than the head can index.
public struct HeadIndexFullError: Error, CustomStringConvertible {
    public var ref: UInt64
    public var reason: String
    public var description: String { "cannot replay series ref \(ref): \(reason)" }
}

/// Sizes of the head's label index, for tests and metrics.
package struct HeadIndexStats: Sendable, Equatable {
    /// Interned label strings, and their UTF-8 bytes.
    package var symbols: Int
    package var symbolBytes: Int
    /// Of those, strings no live series uses.
    package var deadSymbols: Int
    /// Label symbol slots held for series, and how many belong to live series.
    package var labelRefs: Int
    package var liveLabelRefs: Int
    /// Series ids held by the per-id arrays, live or dropped.
    package var seriesIDs = 0
}

extension Head {
    package var indexStats: HeadIndexStats {
        lock.lock()
        defer { lock.unlock() }
        return HeadIndexStats(
            symbols: symbols.count, symbolBytes: symbols.byteCount, deadSymbols: symbols.deadCount,
            labelRefs: labelSyms.count, liveLabelRefs: liveLabelRefs, seriesIDs: refs.count)
    }

    /// Why `newSeries` series up to ref `newestRef` with `labelPairs` labels
    /// and `bytes` label bytes in all cannot be created, if they cannot (lock
    /// held). Counts every string as new, so it errs on the side of refusing
    /// near the bounds.
    func indexProblem(newestRef: UInt64, newSeries: Int, labelPairs: Int, bytes: Int) -> String? {
        if newestRef > capacity.maxSeriesRef {
            return "the head has handed out all \(capacity.maxSeriesRef) series refs"
        }
        if newSeries > capacity.maxSeriesIDs - refs.count {
            return "the head's series index is full (\(refs.count) series ids); "
                + "ids of dropped series are reclaimed after the next block cut"
        }
        if 2 * labelPairs > capacity.maxSymbols - symbols.count || bytes > capacity.maxSymbolBytes - symbols.byteCount {
            return "the head's symbol table is full (\(symbols.count) strings, \(symbols.byteCount) bytes); "
                + "strings of dropped series are reclaimed after the next block cut"
        }
        if 2 * labelPairs > capacity.maxLabelRefs - labelSyms.count {
            return "the head's label index is full (\(labelSyms.count) label slots); "
                + "slots of dropped series are reclaimed after the next block cut"
        }
        return nil
    }

    /// Renumbers the series ids, and rebuilds the symbol table or just the
    /// label arena, from the live series once more than half of each is dead
    /// (lock held). A rebuild costs time in proportion to what it drops plus
    /// what is live, so over a run of churn it adds a constant factor to
    /// creating series.
    func reclaimIfMostlyDead() {
        let deadSymbols = symbols.deadCount * 2 > symbols.count || symbols.deadBytes * 2 > symbols.byteCount
        if (refs.count - seriesCount) * 2 > refs.count {
            renumber()
        } else if deadSymbols || (labelSyms.count - liveLabelRefs) * 2 > labelSyms.count {
            compactLabels()
        }
        if deadSymbols { rebuildSymbols() }
    }

    /// Gives the live series ids 0..<seriesCount in their current order, so
    /// `refs` stays ascending, and rewrites everything that holds ids: the
    /// per-id arrays, postings, the hash table and `allSeries`. Compacts the
    /// label arena on the way.
    func renumber() {
        compactLabels()
        let live = allSeries.map(Int.init)
        var newID = [UInt32](repeating: .max, count: refs.count)
        for (new, old) in live.enumerated() { newID[old] = UInt32(new) }
        // Read from locals, not through the object, while the new arrays are made.
        let (oldChunks, oldStarts, oldClosed, oldOOO, oldHashes, oldRefs) = (chunks, labelStart, closed, ooo, hashes, refs)
        chunks = live.map { oldChunks[$0] }
        labelStart = live.map { oldStarts[$0] }
        closed = live.map { oldClosed[$0] }
        ooo = live.map { oldOOO[$0] }
        hashes = live.map { oldHashes[$0] }
        refs = live.map { oldRefs[$0] }
        alive = [Bool](repeating: true, count: live.count)
        allSeries = Array(0..<UInt32(live.count))

        // Old ids map in ascending order, so postings lists stay sorted.
        var newPostings: [UInt64: [UInt32]] = [:]
        newPostings.reserveCapacity(postings.count)
        for (key, list) in postings { newPostings[key] = list.map { newID[Int($0)] } }
        postings = newPostings
        let table = SeriesHashTable(capacity: live.count * 2)
        for id in live.indices { table.insert(hashes[id], UInt32(id)) }
        byHash = table
    }

    /// Moves the live series' label slots into a new arena, in id order.
    func compactLabels() {
        // Taken out of the object so the loop works on uniquely owned locals.
        let old = labelSyms
        var starts = labelStart
        labelStart = []
        var syms: [UInt32] = []
        syms.reserveCapacity(liveLabelRefs)
        for series in allSeries {
            let id = Int(series)
            let start = Int(starts[id]), end = id + 1 < starts.count ? Int(starts[id + 1]) : old.count
            starts[id] = UInt32(syms.count)
            syms.append(contentsOf: old[start..<end])
            // The next start is read as this series' end; a dropped
            // successor's start is read for nothing else.
            if id + 1 < starts.count, !alive[id + 1] { starts[id + 1] = UInt32(syms.count) }
        }
        labelStart = starts
        labelSyms = syms
    }

    /// Interns the live series' strings into a new table, in order of first
    /// use, and rewrites everything keyed by symbol ids: label slots, postings,
    /// values by name, per-metric counts and the label-set hashes (which cover
    /// symbol ids). Expects a compacted arena.
    func rebuildSymbols() {
        var fresh = SymbolTable(seed: symbols.seed)
        precondition(Self.internMetricName(&fresh) == metricNameSymbol)
        var remap = [UInt32](repeating: .max, count: symbols.count)
        remap[Int(metricNameSymbol)] = metricNameSymbol
        var syms = labelSyms
        labelSyms = []
        for i in syms.indices {
            let old = Int(syms[i])
            if remap[old] == .max { remap[old] = fresh.intern(UInt32(old), of: symbols) }
            syms[i] = remap[old]
            fresh.retain(remap[old])
        }
        labelSyms = syms

        let table = SeriesHashTable(capacity: seriesCount * 2)
        for series in allSeries {
            let id = Int(series), start = Int(labelStart[id])
            let h = syms.withUnsafeBufferPointer { hash(ids: UnsafeBufferPointer(rebasing: $0[start..<start + labelCount(id) * 2])) }
            hashes[id] = h
            table.insert(h, series)
        }

        var newPostings: [UInt64: [UInt32]] = [:]
        newPostings.reserveCapacity(postings.count)
        for (key, list) in postings {
            newPostings[Postings.key(remap[Int(key >> 32)], remap[Int(UInt32(truncatingIfNeeded: key))])] = list
        }
        var newValues: [UInt32: [UInt32]] = [:]
        newValues.reserveCapacity(valuesByName.count)
        for (name, values) in valuesByName { newValues[remap[Int(name)]] = values.map { remap[Int($0)] } }
        var newMetrics: [UInt32: Int] = [:]
        newMetrics.reserveCapacity(metricSeries.count)
        for (name, count) in metricSeries { newMetrics[remap[Int(name)]] = count }

        symbols = fresh
        byHash = table
        postings = newPostings
        valuesByName = newValues
        metricSeries = newMetrics
    }
}
