import RegexBuilder

/// One label condition of a PromQL series selector: `name="v"`, `name!="v"`,
/// `name=~"re"` or `name!~"re"`, with Prometheus 2.42's semantics
/// (`model/labels/matcher.go`, `model/labels/regexp.go`):
///
/// - a series without the label is matched as if its value were `""`, so
///   `{foo=""}` selects series lacking `foo` and `{foo!=""}` those having it;
/// - values compare byte-wise on UTF-8, never by Swift's canonical equivalence
///   (`"é"` and `"e\u{301}"` are different label values);
/// - a regex must match the whole value: Prometheus compiles `^(?:re)$` with
///   Go's RE2 syntax, where `.` does not match `\n` (Prometheus 3 added `(?s)`);
/// - `!=` and `!~` are the exact negations of `=` and `=~`.
///
/// The regex is compiled once in `init`; `matches` is then safe to call
/// concurrently from any number of tasks.
public struct LabelMatcher: Sendable, Hashable, CustomStringConvertible {
    public enum MatchType: String, Sendable {
        case equal = "="
        case notEqual = "!="
        case regexMatch = "=~"
        case regexNoMatch = "!~"
    }

    public let type: MatchType
    public let name: String
    public let value: String
    /// Whether a series lacking the label is selected: the head must then look at
    /// series outside this label's postings too.
    public let matchesEmpty: Bool
    private let regex: LabelRegex?

    /// Throws `MatcherError` when `type` is a regex type and `value` is not a valid
    /// RE2 expression (Prometheus rejects the same expressions).
    public init(_ type: MatchType, _ name: String, _ value: String) throws(MatcherError) {
        let regex: LabelRegex?
        switch type {
        case .equal, .notEqual: regex = nil
        case .regexMatch, .regexNoMatch: regex = try LabelRegex(value)
        }
        self.type = type
        self.name = name
        self.value = value
        self.regex = regex
        self.matchesEmpty = Self.evaluate(type, value, regex, "")
    }

    /// Whether a label value (`""` for a missing label) satisfies the matcher.
    public func matches(_ value: String) -> Bool {
        Self.evaluate(type, self.value, regex, value)
    }

    private static func evaluate(_ type: MatchType, _ expected: String, _ regex: LabelRegex?, _ actual: String) -> Bool {
        switch type {
        case .equal: return utf8Equal(actual, expected)
        case .notEqual: return !utf8Equal(actual, expected)
        case .regexMatch: return regex!.matches(actual)
        case .regexNoMatch: return !regex!.matches(actual)
        }
    }

    /// `name="value"` with Go's quoting, as Prometheus prints a matcher.
    public var description: String { "\(name)\(type.rawValue)\(Label.quote(value))" }

    public static func == (a: LabelMatcher, b: LabelMatcher) -> Bool {
        a.type == b.type && utf8Equal(a.name, b.name) && utf8Equal(a.value, b.value)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(type)
        hasher.combine(UTF8Key(name))
        hasher.combine(UTF8Key(value))
    }
}

/// A regex Prometheus would refuse to compile. `kind` and `fragment` are Go's
/// `regexp/syntax` error code and the offending text, so messages read like
/// Prometheus's own.
public struct MatcherError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case invalidCharRange = "invalid character class range"
        case invalidEscape = "invalid escape sequence"
        case invalidNamedCapture = "invalid named capture"
        case invalidPerlOp = "invalid or unsupported Perl syntax"
        case invalidRepeatOp = "invalid nested repetition operator"
        case invalidRepeatSize = "invalid repeat count"
        case missingBracket = "missing closing ]"
        case missingParen = "missing closing )"
        case missingRepeatArgument = "missing argument to repetition operator"
        case trailingBackslash = "trailing backslash at end of expression"
        case unexpectedParen = "unexpected )"
        case nestingDepth = "expression nests too deeply"
        /// Valid RE2 that Swift's `Regex` cannot run (it nests groups about 60 deep at most).
        case engineLimit = "exceeds the regex engine's limits"
    }

    public let regex: String
    public let kind: Kind
    public let fragment: String

    public init(regex: String, kind: Kind, fragment: String) {
        self.regex = regex
        self.kind = kind
        self.fragment = fragment
    }

    public var description: String {
        var text = "invalid regular expression \(Label.quote(regex)): \(kind.rawValue): `\(fragment)`"
        if let hint { text += " (\(hint))" }
        return text
    }

    /// Names the Perl/PCRE feature behind the error, for users who wrote one.
    private var hint: String? {
        switch kind {
        case .invalidPerlOp where fragment.hasPrefix("(?=") || fragment.hasPrefix("(?!"):
            return "RE2 syntax has no lookahead"
        case .invalidPerlOp where fragment.hasPrefix("(?<"):
            return "RE2 syntax names groups as (?P<name>...); lookbehind is not supported"
        case .invalidPerlOp where fragment.hasPrefix("(?>"):
            return "RE2 syntax has no atomic groups"
        case .invalidEscape where fragment.count == 2 && fragment.last!.isNumber:
            return "RE2 syntax has no backreferences"
        case .invalidRepeatOp where fragment.hasSuffix("+"):
            return "RE2 syntax has no possessive quantifiers"
        default:
            return nil
        }
    }
}

// MARK: - Compiled regex

/// A label regex compiled once: a fast path when its shape allows one, and the
/// engine for everything else.
///
/// The engine is Swift's `Regex`, not `NSRegularExpression`: it needs no
/// Foundation, and it can match Unicode scalars rather than grapheme clusters,
/// as RE2 semantics require (`NSRegularExpression` works on UTF-16). It is
/// never handed the user's text: `RE2Parser` parses RE2 itself (so RE2-only
/// rules and errors are exact) and `RegexEmitter` builds an equivalent regex of
/// explicit scalar ranges, which sidesteps every place Swift's syntax means
/// something else (`\d`, `\w`, `\s` and `.` are Unicode-aware there, `(?i)`
/// folds differently, `$` is not end-of-text, quantified anchors are errors,
/// `\b` misreads digits).
///
/// Like every backtracking engine it can take exponential time on nested
/// quantifiers (`(a|a)*b` against many `a`s); RE2 cannot. The emitter collapses
/// the common `(x*)*` forms, not the general case.
struct LabelRegex: Sendable {
    let fastPath: FastPath?
    private let engine: EngineRegex

    init(_ source: String) throws(MatcherError) {
        let tree = try RE2Parser.parse(source)
        fastPath = FastPath(tree)
        do {
            engine = EngineRegex(try RegexEmitter.regex(for: tree).matchingSemantics(.unicodeScalar))
        } catch {
            throw MatcherError(regex: source, kind: .engineLimit, fragment: "\(error)")
        }
        // Swift lowers a regex to its program on first use; do it here, not in a lookup.
        if fastPath == nil { _ = engineMatches("") }
    }

    func matches(_ value: String) -> Bool {
        if let fastPath { return fastPath.matches(value) }
        return engineMatches(value)
    }

    /// The engine's answer, bypassing the fast path (tests compare the two).
    func engineMatches(_ value: String) -> Bool {
        (try? engine.regex.wholeMatch(in: value)) != nil
    }
}

/// The compiled `Regex`, which is not `Sendable` in Swift 6.3. Sharing it across
/// tasks is safe: nothing mutates it after `init`, matching keeps its state per
/// call (the custom assertions hold none), and the one lazy part, the lowered
/// program, is published with an atomic compare-and-swap
/// (`Regex.Program.loweredProgram` in swift-experimental-string-processing).
private final class EngineRegex: @unchecked Sendable {
    let regex: Regex<Substring>

    init(_ regex: Regex<Substring>) { self.regex = regex }
}

/// Regex shapes decided without the engine. Each agrees with the engine on every
/// input; `newlines` is false where a `.` without `(?s)` stands, since it then
/// does not match `\n`.
enum FastPath: Equatable, Sendable {
    case equal(String)
    case oneOf(Set<UTF8Key>)
    case any(newlines: Bool, nonEmpty: Bool)
    case prefix(String, newlines: Bool)
    case suffix(String, newlines: Bool)
    case contains(String, newlines: Bool)

    init?(_ tree: RegexNode) {
        let node = tree.droppingOuterTextAnchors
        if let literal = node.literalString {
            self = .equal(literal)
            return
        }
        if case let .alternation(branches) = node {
            var set = Set<UTF8Key>()
            for branch in branches {
                guard let literal = branch.droppingOuterTextAnchors.literalString else { return nil }
                set.insert(UTF8Key(literal))
            }
            self = .oneOf(set)
            return
        }
        if let run = node.anyRun {
            self = .any(newlines: run.newlines, nonEmpty: run.min == 1)
            return
        }
        guard case let .concatenation(items) = node, items.count >= 2 else { return nil }
        let head = items.first!.anyRun, tail = items.last!.anyRun
        let isStar = { (run: (newlines: Bool, min: Int)?) in run?.min == 0 }
        if isStar(tail), !isStar(head), let literal = RegexNode.concatenation(Array(items.dropLast())).literalString {
            self = .prefix(literal, newlines: tail!.newlines)
        } else if isStar(head), !isStar(tail), let literal = RegexNode.concatenation(Array(items.dropFirst())).literalString {
            self = .suffix(literal, newlines: head!.newlines)
        } else if items.count >= 3, isStar(head), isStar(tail), head!.newlines == tail!.newlines,
                  let literal = RegexNode.concatenation(Array(items.dropFirst().dropLast())).literalString,
                  head!.newlines || !literal.utf8.contains(newline) {
            self = .contains(literal, newlines: head!.newlines)
        } else {
            return nil
        }
    }

    func matches(_ s: String) -> Bool {
        switch self {
        case let .equal(literal):
            return utf8Equal(s, literal)
        case let .oneOf(set):
            return set.contains(UTF8Key(s))
        case let .any(newlines, nonEmpty):
            return !(nonEmpty && s.isEmpty) && (newlines || !s.utf8.contains(newline))
        case let .prefix(literal, newlines):
            guard s.utf8.starts(with: literal.utf8) else { return false }
            return newlines || !s.utf8.dropFirst(literal.utf8.count).contains(newline)
        case let .suffix(literal, newlines):
            let n = literal.utf8.count
            guard s.utf8.count >= n, s.utf8.suffix(n).elementsEqual(literal.utf8) else { return false }
            return newlines || !s.utf8.dropLast(n).contains(newline)
        case let .contains(literal, newlines):
            return (newlines || !s.utf8.contains(newline)) && utf8Contains(s, literal)
        }
    }
}

private let newline = UInt8(ascii: "\n")

private func utf8Contains(_ haystack: String, _ needle: String) -> Bool {
    var haystack = haystack, needle = needle
    return haystack.withUTF8 { h in
        needle.withUTF8 { n in
            guard n.count <= h.count else { return false }
            guard let first = n.first else { return true }
            var i = 0
            while i <= h.count - n.count {
                if h[i] == first, (1..<n.count).allSatisfy({ h[i + $0] == n[$0] }) { return true }
                i += 1
            }
            return false
        }
    }
}

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

    /// Whether the node can only match the empty string (or nothing): repeating it
    /// is the same as testing it once, and Swift refuses to quantify anchors.
    var isZeroWidth: Bool {
        switch self {
        case .empty, .beginText, .endText, .beginLine, .endLine, .wordBoundary, .notWordBoundary: return true
        case .literal: return false
        case let .set(set): return set.matchesNothing
        case let .concatenation(items), let .alternation(items): return items.allSatisfy(\.isZeroWidth)
        case let .repetition(sub, _, max, _): return max == 0 || sub.isZeroWidth
        }
    }

    /// The same language in a form Swift's engine takes and runs well: no
    /// quantified zero-width nodes (Swift refuses to quantify anchors; repeating
    /// one is testing it once), no `x{0}`, `(x*)*`, `(x+)?`, `(x?)+` ...
    /// collapsed to one quantifier (nesting is what backtracking explodes on),
    /// and `x{n,}` as `x{n-1}x+` when `x` can match empty: Swift's `{n,}` loop
    /// stops at an empty iteration even below `n`, so `(\A|a){2,}` missed "a".
    var simplifiedForEngine: RegexNode {
        switch self {
        case let .concatenation(items):
            return .concat(items.map(\.simplifiedForEngine))
        case let .alternation(branches):
            return .alternate(branches.map(\.simplifiedForEngine))
        case let .repetition(sub, min, max, counted):
            var (sub, min, max) = (sub.simplifiedForEngine, min, max)
            if max == 0 { return .empty }
            if sub.isZeroWidth { return min == 0 ? .empty : sub }
            while !counted, case let .repetition(inner, innerMin, innerMax, false) = sub {
                (sub, min, max) = (inner, min * innerMin, max == nil || innerMax == nil ? nil : 1)
            }
            if max == nil, min >= 2, sub.isNullable {
                return .concat([
                    .repetition(sub, min: min - 1, max: min - 1, counted: true),
                    .repetition(sub, min: 1, max: nil, counted: false),
                ])
            }
            return .repetition(sub, min: min, max: max, counted: counted)
        default:
            return self
        }
    }

    /// Whether the node can match the empty string somewhere.
    var isNullable: Bool {
        switch self {
        case .literal: return false
        case .set: return false
        case let .concatenation(items): return items.allSatisfy(\.isNullable)
        case let .alternation(items): return items.contains(where: \.isNullable)
        case let .repetition(sub, min, _, _): return min == 0 || sub.isNullable
        default: return true
        }
    }

    /// Whether the node holds an assertion `RegexEmitter` implements as a custom component.
    var needsCustomAssertion: Bool {
        switch self {
        case .wordBoundary, .notWordBoundary, .beginLine: return true
        case let .concatenation(items), let .alternation(items): return items.contains(where: \.needsCustomAssertion)
        case let .repetition(sub, _, _, _): return sub.needsCustomAssertion
        default: return false
        }
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
/// 0...0x10FFFF, plus Unicode scripts left for the engine to resolve (the
/// standard library has no script property).
struct ScalarSet: Equatable, Sendable {
    struct Script: Equatable, Sendable {
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

    /// True when no string scalar can be a member (surrogates are not scalars).
    var matchesNothing: Bool {
        scripts.isEmpty && !negated && ranges.allSatisfy { $0.lowerBound >= 0xD800 && $0.upperBound <= 0xDFFF }
    }

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

// MARK: - RE2 parser

/// Parses RE2 syntax exactly as Go's `regexp/syntax.Parse` does with the `Perl`
/// flags that `regexp.Compile` uses: same accepted language, same error codes
/// and fragments. Differences: nesting is capped at 1000 groups (Go caps the
/// tree height at 1000), Go's total-size limit is not applied, and `\Q` without
/// `\E` is rejected as Prometheus 2.42 did (its `^(?:` wrapper swallowed `)$`).
struct RE2Parser {
    private struct Flags {
        var foldCase = false
        var dotNewline = false
        var oneLine = true
    }

    private static let maxDepth = 1000

    private let src: [Unicode.Scalar]
    private let source: String
    private var pos = 0
    private var depth = 0
    private var openQuote = false

    private init(_ source: String) {
        self.source = source
        self.src = Array(source.unicodeScalars)
    }

    static func parse(_ source: String) throws(MatcherError) -> RegexNode {
        var parser = RE2Parser(source)
        let node = try parser.parseAlternation(Flags())
        if parser.pos < parser.src.count { throw parser.error(.unexpectedParen, source) }
        if parser.openQuote { throw parser.error(.missingParen, source) }
        return node
    }

    private func error(_ kind: MatcherError.Kind, _ fragment: String) -> MatcherError {
        MatcherError(regex: source, kind: kind, fragment: fragment)
    }

    private func text(_ from: Int, _ to: Int) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: src[from..<min(to, src.count)])
        return String(view)
    }

    private func peek(_ offset: Int = 0) -> Unicode.Scalar? {
        pos + offset < src.count ? src[pos + offset] : nil
    }

    /// Branches up to an unmatched `)` (left unconsumed) or the end. Flags set by
    /// `(?i)` last to the end of the enclosing group, across `|`.
    private mutating func parseAlternation(_ initial: Flags) throws(MatcherError) -> RegexNode {
        var flags = initial
        var branches: [RegexNode] = []
        var items: [RegexNode] = []
        var lastRepeat: Int?
        loop: while let c = peek() {
            let start = pos
            var repeated = false
            switch c {
            case "|":
                pos += 1
                branches.append(.concat(items))
                items.removeAll()
            case ")":
                break loop
            case "(":
                if let group = try parseParen(&flags) { items.append(group) }
            case "^":
                pos += 1
                items.append(flags.oneLine ? .beginText : .beginLine)
            case "$":
                pos += 1
                items.append(flags.oneLine ? .endText : .endLine)
            case ".":
                pos += 1
                items.append(.set(flags.dotNewline ? .any : .anyButNewline))
            case "[":
                items.append(.set(try parseClass(flags)))
            case "*", "+", "?":
                pos += 1
                let (min, max): (Int, Int?) = c == "*" ? (0, nil) : c == "+" ? (1, nil) : (0, 1)
                try repeatLast(&items, min, max, counted: false, from: start, lastRepeat: lastRepeat)
                repeated = true
            case "{":
                guard let (min, max, end) = parseRepeatBounds() else {
                    pos += 1
                    items.append(literal(c.value, flags))
                    break
                }
                pos = end
                if min < 0 || min > 1000 || (max ?? 0) > 1000 || (max.map { min > $0 } ?? false) {
                    throw error(.invalidRepeatSize, text(start, end))
                }
                try repeatLast(&items, min, max, counted: true, from: start, lastRepeat: lastRepeat)
                repeated = true
            case "\\":
                try parseBackslash(&items, flags)
            default:
                pos += 1
                items.append(literal(c.value, flags))
            }
            lastRepeat = repeated ? start : nil
        }
        branches.append(.concat(items))
        return .alternate(branches)
    }

    private mutating func repeatLast(
        _ items: inout [RegexNode], _ min: Int, _ max: Int?, counted: Bool, from start: Int, lastRepeat: Int?
    ) throws(MatcherError) {
        if peek() == "?" { pos += 1 }
        if let lastRepeat { throw error(.invalidRepeatOp, text(lastRepeat, pos)) }
        guard let operand = items.popLast() else { throw error(.missingRepeatArgument, text(start, pos)) }
        let node = RegexNode.repetition(operand, min: min, max: max, counted: counted)
        if counted, min >= 2 || (max ?? 0) >= 2, !node.repeatIsValid(1000) {
            throw error(.invalidRepeatSize, text(start, pos))
        }
        items.append(node)
    }

    /// `{n}`, `{n,}` or `{n,m}` at `pos`: (min, max or nil for unbounded, end).
    /// Numbers of 9+ digits come back as -1. Nil when it is not a repeat, which
    /// makes the `{` a literal.
    private func parseRepeatBounds() -> (Int, Int?, Int)? {
        var i = pos + 1
        func number() -> Int? {
            guard i < src.count, isDigit(src[i]) else { return nil }
            if src[i] == "0", i + 1 < src.count, isDigit(src[i + 1]) { return nil }
            var n = 0
            while i < src.count, isDigit(src[i]) {
                if n >= 100_000_000 { n = -1 } else if n >= 0 { n = n * 10 + Int(src[i].value - 48) }
                i += 1
            }
            return n
        }
        guard var min = number(), i < src.count else { return nil }
        var max: Int? = min
        if src[i] == "," {
            i += 1
            guard i < src.count else { return nil }
            if src[i] == "}" {
                max = nil
            } else {
                guard let m = number() else { return nil }
                if m < 0 { min = -1 }
                max = m
            }
        }
        guard i < src.count, src[i] == "}" else { return nil }
        return (min, max, i + 1)
    }

    /// A group at `pos`, or nil for a bare flag change such as `(?i)`.
    private mutating func parseParen(_ flags: inout Flags) throws(MatcherError) -> RegexNode? {
        let start = pos
        guard peek(1) == "?" else {
            pos += 1
            return try parseGroupBody(flags)
        }
        if src.count - pos > 4, src[pos + 2] == "P", src[pos + 3] == "<" {
            guard let end = src[pos...].firstIndex(of: ">") else {
                throw error(.invalidNamedCapture, text(start, src.count))
            }
            let name = src[(pos + 4)..<end]
            guard !name.isEmpty, name.allSatisfy({ $0 == "_" || isAlphanumeric($0) }) else {
                throw error(.invalidNamedCapture, text(start, end + 1))
            }
            pos = end + 1
            return try parseGroupBody(flags)
        }
        pos += 2
        var new = flags
        var negated = false, sawFlag = false
        while let c = peek() {
            pos += 1
            switch c {
            case "i": new.foldCase = !negated
            case "m": new.oneLine = negated
            case "s": new.dotNewline = !negated
            case "U": break // non-greedy by default: no effect on a whole-string match
            case "-":
                if negated { throw error(.invalidPerlOp, text(start, pos)) }
                negated = true
                sawFlag = false
                continue
            case ":", ")":
                if negated, !sawFlag { throw error(.invalidPerlOp, text(start, pos)) }
                if c == ")" {
                    flags = new
                    return nil
                }
                return try parseGroupBody(new)
            default:
                throw error(.invalidPerlOp, text(start, pos))
            }
            sawFlag = true
        }
        throw error(.invalidPerlOp, text(start, pos))
    }

    /// The inside of a group whose opening has been consumed, and its `)`.
    private mutating func parseGroupBody(_ flags: Flags) throws(MatcherError) -> RegexNode {
        depth += 1
        if depth > Self.maxDepth { throw error(.nestingDepth, source) }
        let node = try parseAlternation(flags)
        guard peek() == ")" else { throw error(.missingParen, source) }
        pos += 1
        depth -= 1
        return node
    }

    private mutating func parseBackslash(_ items: inout [RegexNode], _ flags: Flags) throws(MatcherError) {
        switch peek(1) {
        case "A": items.append(.beginText)
        case "z": items.append(.endText)
        case "b": items.append(.wordBoundary)
        case "B": items.append(.notWordBoundary)
        case "C": throw error(.invalidEscape, #"\C"#)
        case "Q":
            pos += 2
            while let c = peek(), !(c == "\\" && peek(1) == "E") {
                items.append(literal(c.value, flags))
                pos += 1
            }
            if pos < src.count { pos += 2 } else { openQuote = true }
            return
        case "p", "P":
            var set = ScalarSet(ranges: [])
            try parseUnicodeClass(into: &set, flags)
            set.ranges = ScalarSet.normalized(set.ranges)
            items.append(.set(set))
            return
        default:
            if let ranges = perlClass(flags) {
                items.append(.set(ScalarSet(ranges: ranges)))
            } else {
                let value = try parseEscape()
                items.append(literal(value, flags))
            }
            return
        }
        pos += 2
    }

    /// A single character escape at `pos` (Go's `parseEscape`).
    private mutating func parseEscape() throws(MatcherError) -> UInt32 {
        let start = pos
        pos += 1
        guard let c = peek() else { throw error(.trailingBackslash, "") }
        pos += 1
        switch c {
        case "1"..."7", "0":
            if c != "0", !(peek().map(isOctal) ?? false) { break } // \1 alone: a backreference
            var value = c.value - 48
            for _ in 1..<3 {
                guard let d = peek(), isOctal(d) else { break }
                value = value * 8 + d.value - 48
                pos += 1
            }
            return value
        case "x":
            guard let d = peek() else { break }
            pos += 1
            if d == "{" {
                var value: UInt32 = 0, digits = 0
                while let h = peek() {
                    pos += 1
                    if h == "}" {
                        if digits == 0 { break }
                        return value
                    }
                    guard let v = hexValue(h) else { break }
                    value = value * 16 + v
                    digits += 1
                    if value > ScalarSet.maxScalar { break }
                }
                break
            }
            let e = peek()
            if e != nil { pos += 1 }
            guard let high = hexValue(d), let e, let low = hexValue(e) else { break }
            return high * 16 + low
        case "a": return 0x07
        case "f": return 0x0C
        case "n": return 0x0A
        case "r": return 0x0D
        case "t": return 0x09
        case "v": return 0x0B
        default:
            if c.value < 0x80, !isAlphanumeric(c) { return c.value }
        }
        throw error(.invalidEscape, text(start, pos))
    }

    /// `\d \D \s \S \w \W` at `pos`, as ranges (ASCII only, as in RE2).
    private mutating func perlClass(_ flags: Flags) -> [ClosedRange<UInt32>]? {
        guard peek() == "\\", let c = peek(1) else { return nil }
        let ranges: [ClosedRange<UInt32>]
        switch c {
        case "d", "D": ranges = [0x30...0x39]
        case "s", "S": ranges = [0x09...0x0A, 0x0C...0x0D, 0x20...0x20]
        case "w", "W": ranges = [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A]
        default: return nil
        }
        pos += 2
        let set = flags.foldCase ? ScalarSet.folded(ranges) : ranges
        return c.properties.isUppercase ? ScalarSet.complement(set) : set
    }

    /// `\pL`, `\p{Greek}`, `\PL`, `\p{^Greek}` at `pos`, added to `set`.
    private mutating func parseUnicodeClass(into set: inout ScalarSet, _ flags: Flags) throws(MatcherError) {
        let start = pos
        var negated = src[pos + 1] == "P"
        pos += 2
        var name: String
        if peek() == "{" {
            guard let end = src[pos...].firstIndex(of: "}") else {
                throw error(.invalidCharRange, text(start, src.count))
            }
            name = text(pos + 1, end)
            pos = end + 1
        } else if let c = peek() {
            name = String(c)
            pos += 1
        } else {
            name = ""
        }
        if name.hasPrefix("^") {
            negated.toggle()
            name.removeFirst()
        }
        if let ranges = UnicodeTables.ranges(ofClass: name) {
            let members = flags.foldCase ? ScalarSet.folded(ranges) : ranges
            set.ranges += negated ? ScalarSet.complement(members) : members
        } else if UnicodeTables.scripts.contains(name) {
            set.scripts.append(.init(name: name, negated: negated))
        } else {
            throw error(.invalidCharRange, text(start, pos))
        }
    }

    /// A bracketed class at `pos` (Go's `parseClass`).
    private mutating func parseClass(_ flags: Flags) throws(MatcherError) -> ScalarSet {
        let start = pos
        pos += 1
        let negated = peek() == "^"
        if negated { pos += 1 }
        var set = ScalarSet(ranges: [])
        var first = true
        while peek() != "]" || first {
            first = false
            if src.count - pos > 2, src[pos] == "[", src[pos + 1] == ":",
               let ranges = try parsePOSIXClass(flags) {
                set.ranges += ranges
                continue
            }
            if peek() == "\\", peek(1) == "p" || peek(1) == "P" {
                try parseUnicodeClass(into: &set, flags)
                continue
            }
            if let ranges = perlClass(flags) {
                set.ranges += ranges
                continue
            }
            let rangeStart = pos
            let low = try parseClassChar(classStart: start)
            var high = low
            if src.count - pos >= 2, src[pos] == "-", src[pos + 1] != "]" {
                pos += 1
                high = try parseClassChar(classStart: start)
                if high < low { throw error(.invalidCharRange, text(rangeStart, pos)) }
            }
            set.ranges += flags.foldCase ? ScalarSet.folded([low...high]) : [low...high]
        }
        pos += 1
        set.ranges = ScalarSet.normalized(set.ranges)
        if negated {
            if set.scripts.isEmpty { set.ranges = ScalarSet.complement(set.ranges) } else { set.negated = true }
        }
        return set
    }

    private mutating func parseClassChar(classStart: Int) throws(MatcherError) -> UInt32 {
        guard let c = peek() else { throw error(.missingBracket, text(classStart, src.count)) }
        if c == "\\" { return try parseEscape() }
        pos += 1
        return c.value
    }

    /// `[:alpha:]` or `[:^alpha:]` at `pos`; nil when there is no closing `:]`,
    /// which makes the `[` an ordinary member.
    private mutating func parsePOSIXClass(_ flags: Flags) throws(MatcherError) -> [ClosedRange<UInt32>]? {
        var end = pos + 2
        while end + 1 < src.count, !(src[end] == ":" && src[end + 1] == "]") { end += 1 }
        guard end + 1 < src.count else { return nil }
        let name = text(pos, end + 2)
        let bare = name.dropFirst(2).dropLast(2)
        let negated = bare.hasPrefix("^")
        guard let ranges = UnicodeTables.posixClasses[String(negated ? bare.dropFirst() : bare)] else {
            throw error(.invalidCharRange, name)
        }
        pos = end + 2
        let set = flags.foldCase ? ScalarSet.folded(ranges) : ranges
        return negated ? ScalarSet.complement(set) : set
    }

    /// A literal scalar; under `(?i)` the class of its case-fold orbit. Values
    /// that are not scalars (surrogates, via `\x{D800}`) can never match.
    private func literal(_ value: UInt32, _ flags: Flags) -> RegexNode {
        if flags.foldCase, let orbit = CaseOrbits.table[value] {
            return .set(ScalarSet(ranges: orbit.map { $0...$0 }))
        }
        guard let scalar = Unicode.Scalar(value) else { return .set(ScalarSet(ranges: [])) }
        return .literal(scalar)
    }

    private func isOctal(_ c: Unicode.Scalar) -> Bool { c.value >= 0x30 && c.value <= 0x37 }

    private func isDigit(_ c: Unicode.Scalar) -> Bool { c.value >= 0x30 && c.value <= 0x39 }

    private func isAlphanumeric(_ c: Unicode.Scalar) -> Bool {
        isDigit(c) || ((c.value | 0x20) >= 0x61 && (c.value | 0x20) <= 0x7A)
    }

    private func hexValue(_ c: Unicode.Scalar) -> UInt32? {
        switch c {
        case "0"..."9": return c.value - 48
        case "a"..."f": return c.value - 87
        case "A"..."F": return c.value - 55
        default: return nil
        }
    }
}

// MARK: - Building the Swift regex

/// Builds the Swift `Regex` for a `RegexNode`, to be matched with
/// `.matchingSemantics(.unicodeScalar)` and `wholeMatch`.
///
/// Mostly a pattern string: every scalar and class as explicit `\x{…}` ranges,
/// `$` as `\z`, groups only where a quantifier or alternation needs one. RE2's
/// `\b`, `\B` and `(?m)^` have no exact spelling there (Swift's simple word
/// boundary under scalar semantics does not count digits as word characters;
/// its line start also follows `\r`, U+2028, ...; there is no lookbehind), so
/// they are custom zero-width components, and the parts of the tree around
/// them are composed with RegexBuilder.
enum RegexEmitter {
    static func regex(for node: RegexNode) throws -> Regex<Substring> {
        try build(node.simplifiedForEngine)
    }

    private static func build(_ node: RegexNode) throws -> Regex<Substring> {
        guard node.needsCustomAssertion else {
            var pattern = ""
            emit(node, into: &pattern)
            return try Regex(pattern, as: Substring.self)
        }
        switch node {
        case .wordBoundary:
            return Regex { WordBoundary(negated: false) }
        case .notWordBoundary:
            return Regex { WordBoundary(negated: true) }
        case .beginLine:
            return Regex { LineStart() }
        case let .concatenation(items):
            // Runs without custom assertions stay one pattern string.
            var parts: [Regex<Substring>] = []
            var run: [RegexNode] = []
            for item in items {
                if item.needsCustomAssertion {
                    if !run.isEmpty { parts.append(try build(.concatenation(run))) }
                    run.removeAll()
                    parts.append(try build(item))
                } else {
                    run.append(item)
                }
            }
            if !run.isEmpty { parts.append(try build(.concatenation(run))) }
            return parts.dropFirst().reduce(parts[0]) { a, b in Regex { a; b } }
        case let .alternation(branches):
            return try choice(branches[...])
        case let .repetition(sub, min, max, _):
            let body = try build(sub)
            switch (min, max) {
            case (0, .none): return Regex { ZeroOrMore(body) }
            case (1, .none): return Regex { OneOrMore(body) }
            case (0, 1?): return Regex { Optionally(body) }
            case let (n, .none): return Regex { Repeat(body, n...) }
            case let (n, m?): return Regex { Repeat(body, n...m) }
            }
        default:
            preconditionFailure("\(node) needs no custom assertion")
        }
    }

    /// Alternation as a balanced tree of two-way choices, so depth stays logarithmic.
    private static func choice(_ branches: ArraySlice<RegexNode>) throws -> Regex<Substring> {
        if branches.count == 1 { return try build(branches.first!) }
        let middle = branches.startIndex + branches.count / 2
        let left = try choice(branches[..<middle]), right = try choice(branches[middle...])
        return Regex { ChoiceOf { left; right } }
    }

    private static func emit(_ node: RegexNode, into out: inout String) {
        switch node {
        case .empty: break
        case let .literal(scalar): out += hex(scalar.value)
        case let .set(set): emitSet(set, into: &out)
        case .beginText: out += #"\A"#
        case .endText: out += #"\z"#
        case .endLine: out += #"(?=\x{A}|\z)"#
        case .beginLine, .wordBoundary, .notWordBoundary: preconditionFailure("\(node) is a custom component")
        case let .concatenation(items):
            for item in items { emit(item, into: &out) }
        case let .alternation(branches):
            out += "(?:"
            for (i, branch) in branches.enumerated() {
                if i > 0 { out += "|" }
                emit(branch, into: &out)
            }
            out += ")"
        case let .repetition(sub, min, max, _):
            let atomic: Bool
            switch sub {
            case .literal: atomic = true
            case let .set(set): atomic = !set.matchesNothing
            default: atomic = false
            }
            if !atomic { out += "(?:" }
            emit(sub, into: &out)
            if !atomic { out += ")" }
            switch (min, max) {
            case (0, .none): out += "*"
            case (1, .none): out += "+"
            case (0, 1?): out += "?"
            case let (n, .none): out += "{\(n),}"
            case let (n, m?) where n == m: out += "{\(n)}"
            case let (n, m?): out += "{\(n),\(m)}"
            }
        }
    }

    private static func emitSet(_ set: ScalarSet, into out: inout String) {
        // Surrogates are not scalars: Swift rejects them and no string holds them.
        var items = ""
        var count = 0
        for r in set.ranges {
            for (first, last) in [(r.lowerBound, min(r.upperBound, 0xD7FF)), (max(r.lowerBound, 0xE000), r.upperBound)]
            where first <= last {
                // Swift's `Regex` takes only NFC-stable scalars as range bounds
                // (not U+212A KELVIN SIGN, say); others go in as single members.
                var (low, high) = (first, last)
                while low < high, !isRangeBound(low) {
                    items += hex(low)
                    low += 1
                }
                while low < high, !isRangeBound(high) {
                    items += hex(high)
                    high -= 1
                }
                items += low == high ? hex(low) : hex(low) + "-" + hex(high)
                count += 1
            }
        }
        for script in set.scripts {
            items += (script.negated ? #"\P{"# : #"\p{"#) + "Script=\(script.name)}"
            count += 2
        }
        if count == 0, !set.negated {
            out += "(?!)"
        } else if count == 1, !set.negated, set.ranges.count == 1, set.ranges[0].lowerBound == set.ranges[0].upperBound {
            out += items
        } else {
            out += (set.negated ? "[^" : "[") + items + "]"
        }
    }

    private static func isRangeBound(_ value: UInt32) -> Bool {
        !(Unicode.Scalar(value)?.properties.isFullCompositionExclusion ?? true)
    }

    private static func hex(_ value: UInt32) -> String {
        #"\x{"# + String(value, radix: 16, uppercase: true) + "}"
    }
}

/// RE2's `\b` (or `\B` when negated): the scalars on either side differ in
/// being ASCII word characters `[0-9A-Za-z_]`; the text's ends count as non-word.
private struct WordBoundary: CustomConsumingRegexComponent {
    typealias RegexOutput = Substring
    let negated: Bool

    func consuming(
        _ input: String, startingAt index: String.Index, in bounds: Range<String.Index>
    ) throws -> (upperBound: String.Index, output: Substring)? {
        let scalars = input.unicodeScalars
        let before = index > bounds.lowerBound && Self.isWord(scalars[scalars.index(before: index)])
        let after = index < bounds.upperBound && Self.isWord(scalars[index])
        return (before != after) != negated ? (index, input[index..<index]) : nil
    }

    private static func isWord(_ c: Unicode.Scalar) -> Bool {
        c == "_" || (c.value >= 0x30 && c.value <= 0x39) || ((c.value | 0x20) >= 0x61 && (c.value | 0x20) <= 0x7A)
    }
}

/// RE2's `(?m)^`: the start of the text or just after `\n`.
private struct LineStart: CustomConsumingRegexComponent {
    typealias RegexOutput = Substring

    func consuming(
        _ input: String, startingAt index: String.Index, in bounds: Range<String.Index>
    ) throws -> (upperBound: String.Index, output: Substring)? {
        let scalars = input.unicodeScalars
        let atStart = index == bounds.lowerBound || scalars[scalars.index(before: index)] == "\n"
        return atStart ? (index, input[index..<index]) : nil
    }
}

// MARK: - Unicode data

/// Simple case-folding orbits, the sets Go's `unicode.SimpleFold` cycles through:
/// scalars joined by their single-scalar lower, upper and title mappings, except
/// dotless ı, whose only folding is Turkic. Built once, on first use (~20 ms);
/// checked against Go 1.19, it differs only in scripts newer than Unicode 13.
enum CaseOrbits {
    /// Each scalar with case variants → its whole orbit, itself included.
    static let table: [UInt32: [UInt32]] = build()
    /// The keys of `table`, sorted.
    static let foldable: [UInt32] = table.keys.sorted()

    private static func build() -> [UInt32: [UInt32]] {
        var parent: [UInt32: UInt32] = [:]
        func root(_ x: UInt32) -> UInt32 {
            var x = x
            while let p = parent[x], p != x { x = p }
            return x
        }
        for value in UInt32(0)...0x1FFFF where value != 0x131 {
            guard let scalar = Unicode.Scalar(value), scalar.properties.changesWhenCaseMapped else { continue }
            let p = scalar.properties
            for mapping in [p.lowercaseMapping, p.uppercaseMapping, p.titlecaseMapping] {
                let scalars = mapping.unicodeScalars
                guard scalars.count == 1, let other = scalars.first?.value, other != value else { continue }
                let a = root(value), b = root(other)
                parent[a] = a
                parent[b] = b
                if a != b { parent[max(a, b)] = min(a, b) }
            }
        }
        var orbits: [UInt32: [UInt32]] = [:]
        for value in parent.keys { orbits[root(value), default: []].append(value) }
        var table: [UInt32: [UInt32]] = [:]
        for orbit in orbits.values where orbit.count > 1 {
            let sorted = orbit.sorted()
            for value in sorted { table[value] = sorted }
        }
        return table
    }
}

/// The named classes RE2 accepts: POSIX classes, Go's general categories (from
/// the standard library's properties, so Swift's Unicode version, not Go's 13.0)
/// and Go 1.19's script names (resolved by Swift's `Regex` as `\p{Script=…}`,
/// and not case-folded under `(?i)` as Go would).
enum UnicodeTables {
    static let posixClasses: [String: [ClosedRange<UInt32>]] = [
        "alnum": [0x30...0x39, 0x41...0x5A, 0x61...0x7A],
        "alpha": [0x41...0x5A, 0x61...0x7A],
        "ascii": [0x00...0x7F],
        "blank": [0x09...0x09, 0x20...0x20],
        "cntrl": [0x00...0x1F, 0x7F...0x7F],
        "digit": [0x30...0x39],
        "graph": [0x21...0x7E],
        "lower": [0x61...0x7A],
        "print": [0x20...0x7E],
        "punct": [0x21...0x2F, 0x3A...0x40, 0x5B...0x60, 0x7B...0x7E],
        "space": [0x09...0x0D, 0x20...0x20],
        "upper": [0x41...0x5A],
        "word": [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A],
        "xdigit": [0x30...0x39, 0x41...0x46, 0x61...0x66],
    ]

    /// `Any` or a general category Go knows: the two-letter ones and their
    /// one-letter unions (Go's `C` leaves out unassigned code points).
    static func ranges(ofClass name: String) -> [ClosedRange<UInt32>]? {
        if name == "Any" { return [0...ScalarSet.maxScalar] }
        return categories[name]
    }

    static let scripts: Set<String> = Set("""
        Adlam Ahom Anatolian_Hieroglyphs Arabic Armenian Avestan Balinese Bamum Bassa_Vah Batak Bengali \
        Bhaiksuki Bopomofo Brahmi Braille Buginese Buhid Canadian_Aboriginal Carian Caucasian_Albanian \
        Chakma Cham Cherokee Chorasmian Common Coptic Cuneiform Cypriot Cyrillic Deseret Devanagari \
        Dives_Akuru Dogra Duployan Egyptian_Hieroglyphs Elbasan Elymaic Ethiopic Georgian Glagolitic \
        Gothic Grantha Greek Gujarati Gunjala_Gondi Gurmukhi Han Hangul Hanifi_Rohingya Hanunoo Hatran \
        Hebrew Hiragana Imperial_Aramaic Inherited Inscriptional_Pahlavi Inscriptional_Parthian Javanese \
        Kaithi Kannada Katakana Kayah_Li Kharoshthi Khitan_Small_Script Khmer Khojki Khudawadi Lao Latin \
        Lepcha Limbu Linear_A Linear_B Lisu Lycian Lydian Mahajani Makasar Malayalam Mandaic Manichaean \
        Marchen Masaram_Gondi Medefaidrin Meetei_Mayek Mende_Kikakui Meroitic_Cursive \
        Meroitic_Hieroglyphs Miao Modi Mongolian Mro Multani Myanmar Nabataean Nandinagari New_Tai_Lue \
        Newa Nko Nushu Nyiakeng_Puachue_Hmong Ogham Ol_Chiki Old_Hungarian Old_Italic Old_North_Arabian \
        Old_Permic Old_Persian Old_Sogdian Old_South_Arabian Old_Turkic Oriya Osage Osmanya Pahawh_Hmong \
        Palmyrene Pau_Cin_Hau Phags_Pa Phoenician Psalter_Pahlavi Rejang Runic Samaritan Saurashtra \
        Sharada Shavian Siddham SignWriting Sinhala Sogdian Sora_Sompeng Soyombo Sundanese Syloti_Nagri \
        Syriac Tagalog Tagbanwa Tai_Le Tai_Tham Tai_Viet Takri Tamil Tangut Telugu Thaana Thai Tibetan \
        Tifinagh Tirhuta Ugaritic Vai Wancho Warang_Citi Yezidi Yi Zanabazar_Square
        """.split(separator: " ").map(String.init))

    /// Built once, on first use, by one pass over all scalars (~70 ms).
    private static let categories: [String: [ClosedRange<UInt32>]] = {
        var table: [String: [ClosedRange<UInt32>]] = [:]
        var run: (code: String?, start: UInt32) = (nil, 0)
        func close(at end: UInt32) {
            guard let code = run.code else { return }
            table[code, default: []].append(run.start...end)
            table[String(code.first!), default: []].append(run.start...end)
        }
        for value in UInt32(0)...ScalarSet.maxScalar {
            let category = Unicode.Scalar(value).flatMap { code($0.properties.generalCategory) }
            if category != run.code {
                close(at: value &- 1)
                run = (category, value)
            }
        }
        close(at: ScalarSet.maxScalar)
        return table.mapValues(ScalarSet.normalized)
    }()

    /// Go's two-letter name; nil for unassigned code points, which Go has no name for.
    private static func code(_ category: Unicode.GeneralCategory) -> String? {
        switch category {
        case .uppercaseLetter: return "Lu"
        case .lowercaseLetter: return "Ll"
        case .titlecaseLetter: return "Lt"
        case .modifierLetter: return "Lm"
        case .otherLetter: return "Lo"
        case .nonspacingMark: return "Mn"
        case .spacingMark: return "Mc"
        case .enclosingMark: return "Me"
        case .decimalNumber: return "Nd"
        case .letterNumber: return "Nl"
        case .otherNumber: return "No"
        case .connectorPunctuation: return "Pc"
        case .dashPunctuation: return "Pd"
        case .openPunctuation: return "Ps"
        case .closePunctuation: return "Pe"
        case .initialPunctuation: return "Pi"
        case .finalPunctuation: return "Pf"
        case .otherPunctuation: return "Po"
        case .mathSymbol: return "Sm"
        case .currencySymbol: return "Sc"
        case .modifierSymbol: return "Sk"
        case .otherSymbol: return "So"
        case .spaceSeparator: return "Zs"
        case .lineSeparator: return "Zl"
        case .paragraphSeparator: return "Zp"
        case .control: return "Cc"
        case .format: return "Cf"
        case .surrogate: return "Cs"
        case .privateUse: return "Co"
        case .unassigned: return nil
        @unknown default: return nil
        }
    }
}
