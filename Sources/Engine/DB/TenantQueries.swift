import Formats

/// Reads that merge head, in-flight and persisted data.
extension TenantDB {
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
        for block in inFlight {
            for s in block.series where matchers.allSatisfy({ $0.matches(s.labels[$0.name] ?? "") }) {
                let chunks = s.chunks.filter { $0.maxTime >= mint && $0.minTime <= maxt }
                let late = s.outOfOrder.filter { $0.timestamp >= mint && $0.timestamp <= maxt }
                if !chunks.isEmpty || !late.isEmpty { add(SeriesData(labels: s.labels, chunks: chunks, outOfOrderSamples: late)) }
            }
        }
        if merged.isEmpty { return fromHead }
        for s in fromHead { add(s) }
        return merged.values.sorted { $0.labels < $1.labels }
    }

    /// Label names across blocks and head, sorted. (With `match[]` the node
    /// collects names from a series cursor instead, within its read limits.)
    public func labelNames() -> [String] {
        stateLock.lock()
        var names = Set(head.labelNames())
        for block in blocks { names.formUnion(block.index.labelNames().filter { !$0.isEmpty }) }
        stateLock.unlock()
        return names.sorted(by: utf8Less)
    }

    /// Values of label `name` across blocks and head, sorted.
    public func labelValues(_ name: String) -> [String] {
        stateLock.lock()
        var values = Set(head.labelValues(name))
        for block in blocks { values.formUnion(block.index.labelValues(name)) }
        stateLock.unlock()
        return values.sorted(by: utf8Less)
    }

    /// Persisted blocks' metadata, ascending by time.
    public var blockMetas: [BlockMeta] {
        stateLock.lock(); defer { stateLock.unlock() }
        return blocks.map(\.meta)
    }
}
