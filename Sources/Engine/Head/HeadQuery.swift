import Formats

/// Reads of the head: series selection by label matchers, label names and values.
/// Each call takes the head lock briefly to copy what it needs; regexes run and
/// chunks decode outside it.
extension Head {
    /// Series matching every matcher that have data in [mint, maxt], sorted by labels.
    package func select(mint: Int64 = .min, maxt: Int64 = .max, matchers: [LabelMatcher]) -> [SeriesData] {
        select(mint: mint, maxt: maxt, plan: plan(matchers))
    }

    /// The matchers decided on a copy of the label values taken under the lock
    /// and matched after releasing it.
    func plan(_ matchers: [LabelMatcher]) -> MatcherPlan {
        let names = MatcherPlan.namesRead(by: matchers)
        if names.isEmpty { return MatcherPlan(matchers) { _ in nil } }
        var copied: [UTF8Key: [String]] = [:]
        lock.lock()
        let index = HeadPostings(head: self)
        for name in names where copied[UTF8Key(name)] == nil {
            if let values = index.postingsValues(of: name) { copied[UTF8Key(name)] = values }
        }
        lock.unlock()
        return MatcherPlan(matchers) { copied[UTF8Key($0)] }
    }

    /// `select` for a plan made earlier.
    func select(mint: Int64, maxt: Int64, plan: MatcherPlan) -> [SeriesData] {
        lock.lock()
        let ids = sortedByLabels(HeadPostings(head: self).select(plan))
        var out: [SeriesData] = []
        out.reserveCapacity(ids.count)
        for id in ids {
            let data = snapshot(Int(id), mint: mint, maxt: maxt)
            if !data.chunks.isEmpty || !data.outOfOrderChunks.isEmpty || !data.outOfOrderSamples.isEmpty {
                out.append(data)
            }
        }
        lock.unlock()
        return out
    }

    /// Series ids in Prometheus's label order (lock held). Equal symbol ids mean
    /// equal strings, so strings are compared only where two series first differ.
    func sortedByLabels(_ ids: [UInt32]) -> [UInt32] {
        ids.sorted { a, b in
            let sa = Int(labelStart[Int(a)]), sb = Int(labelStart[Int(b)])
            let na = labelCount(Int(a)) * 2, nb = labelCount(Int(b)) * 2
            for i in 0..<min(na, nb) {
                let x = labelSyms[sa + i], y = labelSyms[sb + i]
                if x != y { return utf8Less(symbols[x], symbols[y]) }
            }
            return na < nb
        }
    }

    /// Label names of the series matching `matchers` (all series when empty), sorted.
    package func labelNames(matchers: [LabelMatcher] = []) -> [String] {
        let plan = self.plan(matchers)
        lock.lock()
        defer { lock.unlock() }
        var names: [String]
        if matchers.isEmpty {
            names = valuesByName.keys.map { symbols[$0] }
        } else {
            var seen = Set<UInt32>()
            for id in HeadPostings(head: self).select(plan) {
                let start = Int(labelStart[Int(id)])
                for i in 0..<labelCount(Int(id)) { seen.insert(labelSyms[start + 2 * i]) }
            }
            names = seen.map { symbols[$0] }
        }
        return names.sorted(by: utf8Less)
    }

    /// Values of label `name` among the series matching `matchers`, sorted.
    package func labelValues(_ name: String, matchers: [LabelMatcher] = []) -> [String] {
        let plan = self.plan(matchers)
        lock.lock()
        defer { lock.unlock() }
        guard let n = symbols.id(name) else { return [] }
        var values: [String]
        if matchers.isEmpty {
            values = (valuesByName[n] ?? []).filter { !(postings[Postings.key(n, $0)]?.isEmpty ?? true) }.map { symbols[$0] }
        } else {
            var seen = Set<UInt32>()
            for id in HeadPostings(head: self).select(plan) {
                let start = Int(labelStart[Int(id)])
                for i in 0..<labelCount(Int(id)) where labelSyms[start + 2 * i] == n {
                    seen.insert(labelSyms[start + 2 * i + 1])
                }
            }
            values = seen.map { symbols[$0] }
        }
        return values.sorted(by: utf8Less)
    }
}

/// The head's postings seen through `PostingsIndex` (lock held while used).
struct HeadPostings: PostingsIndex {
    let head: Head

    func postingsValues(of name: String) -> [String]? {
        guard let n = head.symbols.id(name), let values = head.valuesByName[n] else { return nil }
        return values.map { head.symbols[$0] }
    }

    func postingsList(_ name: String, _ value: String) -> [UInt32] {
        guard let n = head.symbols.id(name), let v = head.symbols.id(value) else { return [] }
        return head.postings[Postings.key(n, v)] ?? []
    }

    func allPostingsList() -> [UInt32] { head.allSeries }
}
