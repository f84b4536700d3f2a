/// What postings-for-matchers needs from an index (the head's or a block's).
protocol PostingsIndex {
    /// Values of label `name`, nil when no series has the label.
    func postingsValues(of name: String) -> [String]?
    /// Sorted series ids with `name="value"`.
    func postingsList(_ name: String, _ value: String) -> [UInt32]
    /// Sorted ids of every series.
    func allPostingsList() -> [UInt32]
}

extension PostingsIndex {
    /// Ids of the series matching every matcher, with Prometheus's semantics: a
    /// matcher that matches the empty string also matches series lacking the label.
    func select(_ matchers: [LabelMatcher]) -> [UInt32] {
        var lists: [[UInt32]] = []
        var exclude: [[UInt32]] = []
        for m in matchers {
            let values = postingsValues(of: m.name)
            if m.matchesEmpty {
                // Series lacking the label match; drop those whose value does not.
                guard let values else { continue }
                let bad = values.filter { !m.matches($0) }
                if !bad.isEmpty { exclude.append(Postings.union(bad.map { postingsList(m.name, $0) })) }
                continue
            }
            guard let values else { return [] }
            let list = m.type == .equal
                ? postingsList(m.name, m.value)
                : Postings.union(values.filter { m.matches($0) }.map { postingsList(m.name, $0) })
            if list.isEmpty { return [] }
            lists.append(list)
        }
        // Shortest first: every later step is bounded by the smallest list.
        lists.sort { $0.count < $1.count }
        var ids = lists.first ?? allPostingsList()
        for list in lists.dropFirst() {
            ids = Postings.intersect(ids, list)
            if ids.isEmpty { return [] }
        }
        for list in exclude { ids = Postings.subtract(ids, list) }
        return ids
    }
}
