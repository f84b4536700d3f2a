// MARK: - RE2 syntax tree

/// A parsed RE2 expression. Captures, laziness and `(?U)` are dropped: they do
/// not change whether a whole string matches.
indirect enum RegexNode: Equatable, Sendable {
    case empty
    case literal(Unicode.Scalar)
    case set(ScalarSet)
    case beginText, endText, beginLine, endLine, wordBoundary, notWordBoundary
    case concatenation([RegexNode])
    case alternation([RegexNode])
    /// `counted` is true for `{n,m}` forms, which Go's repeat-size limit applies to.
    case repetition(RegexNode, min: Int, max: Int?, counted: Bool)

    static func concat(_ items: [RegexNode]) -> RegexNode {
        let flat = items.flatMap { item -> [RegexNode] in
            if case let .concatenation(inner) = item { return inner }
            return item == .empty ? [] : [item]
        }
        switch flat.count {
        case 0: return .empty
        case 1: return flat[0]
        default: return .concatenation(flat)
        }
    }

    static func alternate(_ branches: [RegexNode]) -> RegexNode {
        let flat = branches.flatMap { branch -> [RegexNode] in
            if case let .alternation(inner) = branch { return inner }
            return [branch]
        }
        return flat.count == 1 ? flat[0] : .alternation(flat)
    }

    /// The string this node matches when it is a plain (case-sensitive) literal.
    var literalString: String? {
        switch self {
        case .empty:
            return ""
        case let .literal(scalar):
            return String(scalar)
        case let .concatenation(items):
            var s = String.UnicodeScalarView()
            for item in items {
                guard case let .literal(scalar) = item else { return nil }
                s.append(scalar)
            }
            return String(s)
        default:
            return nil
        }
    }

    /// The literal scalars the node starts with, as far as they are fixed.
    var literalPrefix: String {
        var prefix = String.UnicodeScalarView()
        switch self {
        case let .literal(scalar):
            prefix.append(scalar)
        case let .concatenation(items):
            for case let .literal(scalar) in items.prefix(while: { if case .literal = $0 { true } else { false } }) {
                prefix.append(scalar)
            }
        default:
            break
        }
        return String(prefix)
    }

    /// `.*`, `.+` and their `(?s)` forms.
    var anyRun: (newlines: Bool, min: Int)? {
        guard case let .repetition(.set(set), min, .none, _) = self, min <= 1, set.scripts.isEmpty else { return nil }
        if set.ranges == ScalarSet.any.ranges { return (true, min) }
        if set.ranges == ScalarSet.anyButNewline.ranges { return (false, min) }
        return nil
    }

    /// `^` and `$` (outside `(?m)`) at the ends are redundant: the match is anchored.
    var droppingOuterTextAnchors: RegexNode {
        guard case var .concatenation(items) = self else {
            return self == .beginText || self == .endText ? .empty : self
        }
        while items.first == .beginText { items.removeFirst() }
        while items.last == .endText { items.removeLast() }
        return .concat(items)
    }

    /// Go's rule: nested counted repeats may not multiply past `limit` copies.
    func repeatIsValid(_ limit: Int) -> Bool {
        var limit = limit
        switch self {
        case let .repetition(sub, min, max, counted):
            if counted {
                if max == 0 { return true }
                let m = max ?? min
                if m > limit { return false }
                if m > 0 { limit /= m }
            }
            return sub.repeatIsValid(limit)
        case let .concatenation(items), let .alternation(items):
            return items.allSatisfy { $0.repeatIsValid(limit) }
        default:
            return true
        }
    }
}

/// A set of Unicode scalar values: sorted, disjoint, non-adjacent ranges over
/// 0...0x10FFFF, plus Unicode scripts, resolved when matching by `ScriptClass`
/// (the standard library has no script property).
struct ScalarSet: Hashable, Sendable {
    struct Script: Hashable, Sendable {
        let name: String
        let negated: Bool
    }

    var ranges: [ClosedRange<UInt32>]
    var scripts: [Script] = []
    /// Only meaningful with scripts; without them negation is applied to `ranges`.
    var negated = false

    static let maxScalar: UInt32 = 0x10FFFF
    static let any = ScalarSet(ranges: [0...maxScalar])
    static let anyButNewline = ScalarSet(ranges: [0...0x09, 0x0B...maxScalar])

    static func normalized(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var out: [ClosedRange<UInt32>] = []
        for r in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = out.last, r.lowerBound <= last.upperBound &+ 1 {
                out[out.count - 1] = last.lowerBound...max(last.upperBound, r.upperBound)
            } else {
                out.append(r)
            }
        }
        return out
    }

    /// The complement of normalized ranges within 0...0x10FFFF.
    static func complement(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var out: [ClosedRange<UInt32>] = []
        var next: UInt32 = 0
        for r in ranges {
            if r.lowerBound > next { out.append(next...(r.lowerBound - 1)) }
            next = r.upperBound + 1
        }
        if next <= maxScalar { out.append(next...maxScalar) }
        return out
    }

    /// `ranges` plus every scalar case-equivalent to one in them.
    static func folded(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var out = ranges
        let keys = CaseOrbits.foldable
        for r in ranges {
            var i = keys.partitioningIndex { $0 >= r.lowerBound }
            while i < keys.count, keys[i] <= r.upperBound {
                out += CaseOrbits.table[keys[i]]!.map { $0...$0 }
                i += 1
            }
        }
        return normalized(out)
    }
}

extension Array where Element == UInt32 {
    /// The first index whose element satisfies `predicate`, which must be false
    /// then true along the (sorted) array.
    fileprivate func partitioningIndex(where predicate: (UInt32) -> Bool) -> Int {
        var low = 0, high = count
        while low < high {
            let mid = (low + high) / 2
            if predicate(self[mid]) { high = mid } else { low = mid + 1 }
        }
        return low
    }
}
