import CStorage
import Formats

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One series' data taken out of the head for a block.
struct TakenSeries {
    var labels: Labels
    /// In-order chunks, verbatim (chunks never span an aligned chunk range).
    var chunks: [ChunkMeta]
    /// Out-of-order samples, sorted.
    var outOfOrder: [Sample]
}

extension Head {
    /// Series handled per hold of the head lock while taking: appends wait for
    /// at most one batch instead of the whole head (seconds at 1M series).
    static let takeBatch = 8192

    /// Removes every chunk and out-of-order sample before `end` and returns them,
    /// then drops series left with no data. Raises nothing else: the caller
    /// raises the minimum valid time so no in-order sample lands there again.
    /// With `all`, everything older than the head's newest sample at the start
    /// goes, open chunks too (flush of the whole head).
    ///
    /// Works through the series present at the start in batches, releasing the
    /// lock between them. The bound is fixed first and raises `minValidTime`, so
    /// a sample appended meanwhile is at or above it and stays in the head: it
    /// is in no block, and a WAL checkpoint (which keeps samples from
    /// `minValidTime` on) keeps it. The caller holds the database's state lock,
    /// so no query sees a half-taken head.
    func take(before end: Int64, all: Bool = false) -> [TakenSeries] {
        lock.lock()
        // Below `bound`: taken. With `all` it is unaligned, so a chunk may hold
        // samples from both sides once appends arrive; it is split.
        let bound = all ? (maxTime == .min ? Int64.max : maxTime.saturatingAdd(1)) : end
        minValidTime = max(minValidTime, all ? (maxTime == .min ? minValidTime : bound) : end)
        // A head empty of in-order samples, or holding Int64.max, has no bound
        // to split at; no in-order sample can arrive meanwhile either.
        let below: (Int64) -> Bool = all && (maxTime == .min || maxTime == .max) ? { _ in true } : { $0 < bound }
        let ids = allSeries
        lock.unlock()
        var taken: [TakenSeries] = []
        for start in stride(from: 0, to: ids.count, by: Self.takeBatch) {
            lock.lock()
            var emptied: [Int] = []
            for id in ids[start..<min(start + Self.takeBatch, ids.count)].map(Int.init) {
                let (metas, late) = all ? takeSplitting(id, below: below) : take(id, before: end)
                if !metas.isEmpty || !late.isEmpty {
                    taken.append(TakenSeries(labels: labels(of: id), chunks: metas, outOfOrder: late))
                }
                if closed[id] == nil, self.chunks[id].buf == nil, ooo[id] == nil { emptied.append(id) }
            }
            removeSeries(emptied)
            lock.unlock()
            // NSLock is not fair: re-locking at once would win against the
            // appends the unlock woke, and they would wait for the whole take.
            // A short pause lets them in between batches.
            if start + Self.takeBatch < ids.count { usleep(200) }
        }
        lock.lock()
        reclaimIfMostlyDead()
        recomputeTimeRange()
        lock.unlock()
        return taken
    }

    /// One series' chunks and out-of-order samples wholly before `end` (lock held).
    private func take(_ id: Int, before end: Int64) -> ([ChunkMeta], [Sample]) {
        var metas: [ChunkMeta] = []
        if let list = closed[id] {
            let cut = list.chunks.firstIndex { $0.maxTime >= end } ?? list.chunks.count
            metas = Array(list.chunks[..<cut])
            list.chunks.removeFirst(cut)
            if list.chunks.isEmpty { closed[id] = nil }
        }
        let c = self.chunks[id]
        if let buf = c.buf, c.xor.count > 0, c.xor.t < end {
            metas.append(ChunkMeta(minTime: c.min_time, maxTime: c.xor.t, chunk: XORChunk(bytes: XORChunk.copyBytes(c.xor, buf))))
            buf.deallocate()
            self.chunks[id] = cs_head_chunk()
        }
        return (metas, takeOutOfOrder(id, below: { $0 < end }))
    }

    /// One series' samples `below` the take's bound, splitting the chunk that
    /// straddles it (lock held). Samples above were appended during the take.
    private func takeSplitting(_ id: Int, below: (Int64) -> Bool) -> ([ChunkMeta], [Sample]) {
        var metas: [ChunkMeta] = []
        if let list = closed[id] {
            var kept: [ChunkMeta] = []
            for meta in list.chunks {
                if below(meta.maxTime) {
                    metas.append(meta)
                } else if !below(meta.minTime) {
                    kept.append(meta)
                } else if let (old, new) = split(meta.chunk, below: below) {
                    metas.append(old)
                    kept.append(new)
                } else {
                    kept.append(meta)
                }
            }
            list.chunks = kept
            if kept.isEmpty { closed[id] = nil }
        }
        let c = self.chunks[id]
        if let buf = c.buf, c.xor.count > 0, below(c.min_time) {
            let open = XORChunk(bytes: XORChunk.copyBytes(c.xor, buf))
            if below(c.xor.t) {
                metas.append(ChunkMeta(minTime: c.min_time, maxTime: c.xor.t, chunk: open))
                buf.deallocate()
                self.chunks[id] = cs_head_chunk()
            } else if let (old, new) = split(open, below: below), let newer = try? new.chunk.samples() {
                metas.append(old)
                buf.deallocate()
                self.chunks[id] = cs_head_chunk()
                for s in newer { appendInOrder(id, s.timestamp, s.value.bitPattern) }
            }
        }
        return (metas, takeOutOfOrder(id, below: below))
    }

    /// A chunk's samples `below` the bound and the rest, each re-encoded; nil
    /// when it does not decode (it then stays whole in the head).
    private func split(_ chunk: XORChunk, below: (Int64) -> Bool) -> (ChunkMeta, ChunkMeta)? {
        guard let samples = try? chunk.samples(), let at = samples.firstIndex(where: { !below($0.timestamp) }), at > 0,
            let old = try? XORChunk(encoding: samples[..<at]), let new = try? XORChunk(encoding: samples[at...])
        else { return nil }
        return (
            ChunkMeta(minTime: samples[0].timestamp, maxTime: samples[at - 1].timestamp, chunk: old),
            ChunkMeta(minTime: samples[at].timestamp, maxTime: samples.last!.timestamp, chunk: new)
        )
    }

    /// One series' out-of-order samples `below` the bound, sorted (lock held).
    private func takeOutOfOrder(_ id: Int, below: (Int64) -> Bool) -> [Sample] {
        guard let o = ooo[id] else { return [] }
        var late: [Sample] = []
        for meta in o.chunks { late += (try? meta.chunk.samples()) ?? [] }
        late += o.buffer
        late.sort { $0.timestamp < $1.timestamp }
        let keep = late.filter { !below($0.timestamp) }
        late.removeAll { !below($0.timestamp) }
        if keep.isEmpty {
            ooo[id] = nil
        } else {
            let fresh = OutOfOrderSamples()
            for s in keep { _ = fresh.insert(s) }
            ooo[id] = fresh
        }
        return late
    }

    /// Drops series from every index (lock held). Their refs are never reused.
    private func removeSeries(_ ids: [Int]) {
        guard !ids.isEmpty else { return }
        let gone = ids.map(UInt32.init)  // ascending: allSeries is
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
        // One pass per name over its values, not one per value gone: a label
        // with a value per series has as many values as the head has series.
        var goneValues: [UInt32: Set<UInt32>] = [:]
        for key in touched {
            // Taken out of the dictionary so the removal edits it in place.
            var list = postings.removeValue(forKey: key) ?? []
            Self.remove(gone, from: &list)
            if list.isEmpty {
                goneValues[UInt32(key >> 32), default: []].insert(UInt32(truncatingIfNeeded: key))
            } else {
                postings[key] = list
            }
        }
        for (n, values) in goneValues {
            valuesByName[n]?.removeAll { values.contains($0) }
            if valuesByName[n]?.isEmpty == true { valuesByName[n] = nil }
        }
        Self.remove(gone, from: &allSeries)
    }

    /// Removes `gone` from `list` (both ascending), touching only the span
    /// between its first and last id: a take removes a batch at a time from
    /// lists as long as the whole head.
    private static func remove(_ gone: [UInt32], from list: inout [UInt32]) {
        guard let first = gone.first, let last = gone.last else { return }
        func index(where above: (UInt32) -> Bool) -> Int {
            var lo = 0, hi = list.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if above(list[mid]) { hi = mid } else { lo = mid + 1 }
            }
            return lo
        }
        let span = index { $0 >= first }..<index { $0 > last }
        list.replaceSubrange(span, with: Postings.subtract(Array(list[span]), gone))
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
