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
    /// Series ids (ref - 1) are UInt32 and `SeriesHashTable` reserves UInt32.max.
    var maxSeriesRef = UInt64(UInt32.max)
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
public struct HeadIndexStats: Sendable, Equatable {
    /// Interned label strings, and their UTF-8 bytes.
    public var symbols: Int
    public var symbolBytes: Int
    /// Of those, strings no live series uses.
    public var deadSymbols: Int
    /// Label symbol slots held for series, and how many belong to live series.
    public var labelRefs: Int
    public var liveLabelRefs: Int
}

extension Head {
    public var indexStats: HeadIndexStats {
        lock.lock()
        defer { lock.unlock() }
        return HeadIndexStats(symbols: symbols.count, symbolBytes: symbols.byteCount, deadSymbols: symbols.deadCount,
                              labelRefs: labelSyms.count, liveLabelRefs: liveLabelRefs)
    }

    /// Why series up to ref `newestRef` with `labelPairs` labels and `bytes`
    /// label bytes in all cannot be created, if they cannot (lock held). Counts
    /// every string as new, so it errs on the side of refusing near the bounds.
    func indexProblem(newestRef: UInt64, labelPairs: Int, bytes: Int) -> String? {
        if newestRef > capacity.maxSeriesRef {
            return "the head has handed out all \(capacity.maxSeriesRef) series refs"
        }
        if 2 * labelPairs > capacity.maxSymbols - symbols.count || bytes > capacity.maxSymbolBytes - symbols.byteCount
            || !symbols.hasRoom(symbols: 2 * labelPairs, bytes: bytes) {
            return "the head's symbol table is full (\(symbols.count) strings, \(symbols.byteCount) bytes); "
                + "strings of dropped series are reclaimed after the next block cut"
        }
        if 2 * labelPairs > capacity.maxLabelRefs - labelSyms.count {
            return "the head's label index is full (\(labelSyms.count) label slots); "
                + "slots of dropped series are reclaimed after the next block cut"
        }
        return nil
    }

    /// Rebuilds the symbol table and the label arena from the live series once
    /// at least half of either is dead (lock held). The rebuild costs time in
    /// proportion to what it drops plus what is live, so over a run of churn it
    /// adds a constant factor to creating series.
    func reclaimIfMostlyDead() {
        let deadLabelRefs = labelSyms.count - liveLabelRefs
        guard symbols.deadCount * 2 > symbols.count || symbols.deadBytes * 2 > symbols.byteCount
                || deadLabelRefs * 2 > labelSyms.count else { return }
        reclaim()
    }

    /// New symbol ids are handed out in order of first use by the live series;
    /// every structure keyed by symbol ids is rebuilt with them, and the label
    /// hashes (which cover symbol ids) are recomputed.
    func reclaim() {
        var fresh = SymbolTable(seed: symbols.seed)
        precondition(Self.internMetricName(&fresh) == metricNameSymbol)
        var remap = [UInt32](repeating: .max, count: symbols.count)
        remap[Int(metricNameSymbol)] = metricNameSymbol
        var syms: [UInt32] = []
        syms.reserveCapacity(liveLabelRefs)
        let table = SeriesHashTable(capacity: seriesCount * 2)
        for series in allSeries {
            let id = Int(series)
            let start = Int(labelStart[id]), count = labelCount(id) * 2
            let newStart = syms.count
            for old in labelSyms[start..<start + count] {
                if remap[Int(old)] == .max { remap[Int(old)] = fresh.intern(old, of: symbols) }
                let new = remap[Int(old)]
                syms.append(new)
                fresh.retain(new)
            }
            labelStart[id] = UInt32(newStart)
            // labelCount reads the next start as this series' end; a dropped
            // successor's start is read for nothing else.
            if id + 1 < labelStart.count, !alive[id + 1] { labelStart[id + 1] = UInt32(syms.count) }
            let h = syms.withUnsafeBufferPointer { hash(ids: UnsafeBufferPointer(rebasing: $0[newStart...])) }
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
        labelSyms = syms
        byHash = table
        postings = newPostings
        valuesByName = newValues
        metricSeries = newMetrics
    }
}
