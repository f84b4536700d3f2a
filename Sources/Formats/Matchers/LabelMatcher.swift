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

    /// The values that satisfy the matcher; a regex reuses its working memory
    /// across them.
    package func filter(_ values: [String]) -> [String] {
        guard let regex, regex.fastPath == nil else { return values.filter(matches) }
        var scratch = regex.scratch()
        return values.filter { regex.matches($0, &scratch) != (type == .regexNoMatch) }
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
        /// Go's `ErrLarge`: the compiled program would pass `RegexProgram.maxInstructions`.
        case tooLarge = "expression too large"
        /// A script Go knows that this build's Unicode data (Swift's `Regex`) lacks.
        case unsupportedScript = "unsupported Unicode script"
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

/// A label regex compiled once: a fast path when its shape allows one, else
/// the NFA (`RegexProgram`), which runs in linear time like Go's `regexp`.
///
/// `RE2Parser` parses RE2 itself, so RE2-only rules and errors are exact and
/// nothing depends on another engine's reading of `\d`, `(?i)`, `$` or `\b`.
struct LabelRegex: Sendable {
    let fastPath: FastPath?
    /// Literal text every match starts with: values without it skip the NFA
    /// (Prometheus tests the same literal prefix before running Go's regexp).
    let requiredPrefix: String
    private let program: RegexProgram

    init(_ source: String) throws(MatcherError) {
        let tree = try RE2Parser.parse(source)
        fastPath = FastPath(tree)
        requiredPrefix = tree.droppingOuterTextAnchors.literalPrefix
        do throws(RegexProgram.Failure) {
            program = try RegexProgram(tree)
        } catch {
            switch error {
            case .tooLarge:
                throw MatcherError(regex: source, kind: .tooLarge, fragment: source)
            case let .unsupportedScript(name):
                throw MatcherError(regex: source, kind: .unsupportedScript, fragment: #"\p{"# + name + "}")
            }
        }
    }

    func matches(_ value: String) -> Bool {
        if let fastPath { return fastPath.matches(value) }
        var scratch = scratch()
        return matches(value, &scratch)
    }

    /// `matches` with the NFA's working memory supplied (`LabelMatcher.filter`).
    func matches(_ value: String, _ scratch: inout RegexProgram.Scratch) -> Bool {
        if let fastPath { return fastPath.matches(value) }
        return value.utf8.starts(with: requiredPrefix.utf8) && program.matches(value, &scratch)
    }

    /// The NFA's answer, bypassing the fast path and the prefix test (tests compare them).
    func engineMatches(_ value: String) -> Bool {
        program.matches(value)
    }

    func scratch() -> RegexProgram.Scratch { RegexProgram.Scratch(for: program) }
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
            head!.newlines || !literal.utf8.contains(newline)
        {
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
