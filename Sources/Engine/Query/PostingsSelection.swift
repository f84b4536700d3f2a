import Formats

/// What postings-for-matchers needs from an index (the head's or a block's).
package protocol PostingsIndex {
    /// Values of label `name`, nil when no series has the label.
    func postingsValues(of name: String) -> [String]?
    /// Sorted series ids with `name="value"`.
    func postingsList(_ name: String, _ value: String) -> [UInt32]
    /// Sorted ids of every series.
    func allPostingsList() -> [UInt32]
}

/// Every matcher decided against a copy of its label's values. Building it runs
/// the regexes, so the head builds it with no lock held (a slow regex then
/// stalls only its own query) and takes its lock again to resolve postings.
///
/// A value that appears between the two steps was never judged: it is left
/// out, and series holding it are dropped where the label may also be missing,
/// so every selected series satisfies every matcher.
struct MatcherPlan: Sendable {
    enum Step: Sendable {
        /// The series must have one of `values`.
        case include(name: String, values: [String])
        /// Series lacking the label match too; those with a value outside `good` do not.
        case exclude(name: String, good: Set<UTF8Key>)
    }

    let steps: [Step]

    /// `values` gives a label's values (nil when no series has it); it is asked
    /// only for the names of matchers that are not a plain `=`.
    init(_ matchers: [LabelMatcher], values: (String) -> [String]?) {
        steps = matchers.map { m in
            if m.type == .equal, !m.matchesEmpty { return .include(name: m.name, values: [m.value]) }
            let matching = m.filter(values(m.name) ?? [])
            return m.matchesEmpty
                ? .exclude(name: m.name, good: Set(matching.map(UTF8Key.init)))
                : .include(name: m.name, values: matching)
        }
    }

    /// Label names whose values `init` reads for `matchers`.
    static func namesRead(by matchers: [LabelMatcher]) -> [String] {
        matchers.filter { $0.type != .equal || $0.matchesEmpty }.map(\.name)
    }
}

extension PostingsIndex {
    /// Ids of the series matching every matcher, with Prometheus's semantics: a
    /// matcher that matches the empty string also matches series lacking the label.
    package func select(_ matchers: [LabelMatcher]) -> [UInt32] {
        select(MatcherPlan(matchers, values: postingsValues))
    }

    func select(_ plan: MatcherPlan) -> [UInt32] {
        var lists: [[UInt32]] = []
        var exclude: [[UInt32]] = []
        for step in plan.steps {
            switch step {
            case let .include(name, values):
                let list = Postings.union(values.map { postingsList(name, $0) })
                if list.isEmpty { return [] }
                lists.append(list)
            case let .exclude(name, good):
                let bad = (postingsValues(of: name) ?? []).filter { !good.contains(UTF8Key($0)) }
                if !bad.isEmpty { exclude.append(Postings.union(bad.map { postingsList(name, $0) })) }
            }
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
