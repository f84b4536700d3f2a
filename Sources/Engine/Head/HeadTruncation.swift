import CStorage
import Formats

/// One series' data taken out of the head for a block.
struct TakenSeries {
    var labels: Labels
    /// In-order chunks, verbatim (chunks never span an aligned chunk range).
    var chunks: [ChunkMeta]
    /// Out-of-order samples, sorted.
    var outOfOrder: [Sample]
}

extension Head {
    /// Removes every chunk and out-of-order sample before `end` and returns them,
    /// then drops series left with no data. Raises nothing else: the caller
    /// raises the minimum valid time so no in-order sample lands there again.
    /// With `all`, the open chunks go too (flush of the whole head).
    func take(before end: Int64, all: Bool = false) -> [TakenSeries] {
        lock.lock()
        defer { lock.unlock() }
        minValidTime = max(minValidTime, all ? (maxTime == .min ? minValidTime : maxTime.saturatingAdd(1)) : end)
        var taken: [TakenSeries] = []
        var emptied: [Int] = []
        for id in allSeries.map(Int.init) {
            var metas: [ChunkMeta] = []
            if let list = closed[id] {
                let cut = all ? list.chunks.count : (list.chunks.firstIndex { $0.maxTime >= end } ?? list.chunks.count)
                metas = Array(list.chunks[..<cut])
                list.chunks.removeFirst(cut)
                if list.chunks.isEmpty { closed[id] = nil }
            }
            var c = self.chunks[id]
            if let buf = c.buf, c.xor.count > 0, all || c.xor.t < end {
                metas.append(ChunkMeta(minTime: c.min_time, maxTime: c.xor.t, chunk: XORChunk(bytes: XORChunk.copyBytes(c.xor, buf))))
                buf.deallocate()
                c = cs_head_chunk()
                self.chunks[id] = c
            }
            var late: [Sample] = []
            if let o = ooo[id] {
                for meta in o.chunks { late += (try? meta.chunk.samples()) ?? [] }
                late += o.buffer
                late.sort { $0.timestamp < $1.timestamp }
                let keep = all ? [] : late.filter { $0.timestamp >= end }
                late.removeAll { !all && $0.timestamp >= end }
                if keep.isEmpty { ooo[id] = nil } else {
                    let fresh = OutOfOrderSamples()
                    for s in keep { _ = fresh.insert(s) }
                    ooo[id] = fresh
                }
            }
            if !metas.isEmpty || !late.isEmpty {
                taken.append(TakenSeries(labels: labels(of: id), chunks: metas, outOfOrder: late))
            }
            if closed[id] == nil, self.chunks[id].buf == nil, ooo[id] == nil { emptied.append(id) }
        }
        removeSeries(emptied)
        reclaimIfMostlyDead()
        recomputeTimeRange()
        return taken
    }

    /// Drops series from every index (lock held). Their refs are never reused.
    private func removeSeries(_ ids: [Int]) {
        guard !ids.isEmpty else { return }
        let gone = ids.map(UInt32.init)   // ascending: allSeries is
        var touched = Set<UInt64>()
        for id in ids {
            alive[id] = false
            seriesCount -= 1
            let start = Int(labelStart[id]), count = labelCount(id)
            for i in 0..<count {
                let n = labelSyms[start + 2 * i], v = labelSyms[start + 2 * i + 1]
                touched.insert(Postings.key(n, v))
                symbols.release(n)
                symbols.release(v)
                if n == metricNameSymbol {
                    let left = metricSeries[v, default: 1] - 1
                    metricSeries[v] = left == 0 ? nil : left
                }
            }
            liveLabelRefs -= 2 * count
            byHash.remove(hashes[id], UInt32(id))
        }
        for key in touched {
            let list = Postings.subtract(postings[key] ?? [], gone)
            if list.isEmpty {
                postings[key] = nil
                let n = UInt32(key >> 32), v = UInt32(truncatingIfNeeded: key)
                valuesByName[n]?.removeAll { $0 == v }
                if valuesByName[n]?.isEmpty == true { valuesByName[n] = nil }
            } else {
                postings[key] = list
            }
        }
        allSeries = Postings.subtract(allSeries, gone)
    }

    /// Recomputes the head's time span from what it still holds (lock held).
    private func recomputeTimeRange() {
        var lo = Int64.max, hi = Int64.min
        for id in allSeries.map(Int.init) {
            if let first = closed[id]?.chunks.first { lo = min(lo, first.minTime) }
            if let last = closed[id]?.chunks.last { hi = max(hi, last.maxTime) }
            let c = chunks[id]
            if c.buf != nil, c.xor.count > 0 { lo = min(lo, c.min_time); hi = max(hi, c.xor.t) }
            if let o = ooo[id] {
                for m in o.chunks { lo = min(lo, m.minTime); hi = max(hi, m.maxTime) }
                for s in o.buffer { lo = min(lo, s.timestamp); hi = max(hi, s.timestamp) }
            }
        }
        minTime = lo
        maxTime = hi
    }

    /// Every live series' out-of-order samples (lock held by caller), for rewriting the WBL.
    func outOfOrderSnapshot() -> [WALSample] {
        lock.lock()
        defer { lock.unlock() }
        var out: [WALSample] = []
        for id in allSeries.map(Int.init) {
            guard let o = ooo[id] else { continue }
            var samples = o.buffer
            for meta in o.chunks { samples += (try? meta.chunk.samples()) ?? [] }
            let ref = refs[id]
            out += samples.map { WALSample(ref: ref, timestamp: $0.timestamp, value: $0.value) }
        }
        return out
    }

    /// Whether the series `ref` is still in memory (for WAL checkpoints).
    func isAlive(_ ref: UInt64) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return liveID(ref: ref) != nil
    }
}
