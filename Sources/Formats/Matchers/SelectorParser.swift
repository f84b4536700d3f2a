/// A series selector that could not be parsed: where (an offset in Unicode
/// scalars from the start of the text, 0-based) and why.
public struct SelectorError: Error, Equatable, Sendable, CustomStringConvertible {
    public let position: Int
    public let reason: String

    public init(position: Int, reason: String) {
        self.position = position
        self.reason = reason
    }

    public var description: String { "parse error at position \(position): \(reason)" }
}

/// Parses a PromQL series selector, as Prometheus 2.42's `ParseMetricSelector`
/// accepts it: `metric`, `metric{matchers}` or `{matchers}`, where matchers are
/// `label op "value"` separated by commas (a trailing comma allowed) and values
/// are Go string literals in double quotes, single quotes or backticks (raw).
/// Whitespace and `#` comments may stand between tokens.
///
/// A metric name outside the braces becomes a `__name__="metric"` matcher, last
/// in the list as in Prometheus. Rejected as Prometheus rejects them: empty
/// input, a selector whose matchers all match the empty string, a metric name
/// also set inside the braces, PromQL keywords that cannot name a metric
/// (`on`, `bool`, `inf`, ...), invalid names, strings and regexes, and anything
/// after the selector (range `[5m]`, `offset`, `@`).
public enum SelectorParser {
    public static func parse(_ text: String) throws(SelectorError) -> [LabelMatcher] {
        var parser = Parser(text)
        return try parser.parseSelector()
    }
}

private struct Parser {
    /// Words the PromQL lexer turns into tokens that the grammar does not accept
    /// as a metric name (compared lowercased, as the lexer does).
    private static let reservedNames: Set<String> = [
        "atan2", "on", "ignoring", "group_left", "group_right", "bool", "inf", "nan"
    ]

    private let src: [Unicode.Scalar]
    private var pos = 0

    init(_ text: String) { src = Array(text.unicodeScalars) }

    private func peek(_ offset: Int = 0) -> Unicode.Scalar? {
        pos + offset < src.count ? src[pos + offset] : nil
    }

    private func error(_ position: Int, _ reason: String) -> SelectorError {
        SelectorError(position: position, reason: reason)
    }

    /// What stands at `pos`, for messages.
    private var found: String {
        guard let c = peek() else { return "end of input" }
        return Label.quote(String(c))
    }

    mutating func parseSelector() throws(SelectorError) -> [LabelMatcher] {
        skipSpace()
        guard let first = peek() else { throw error(pos, "empty selector") }
        var metric: (name: String, position: Int)?
        if isMetricNameStart(first) {
            let start = pos
            while let c = peek(), isMetricNameStart(c) || isDigit(c) { pos += 1 }
            let name = text(start, pos)
            if Self.reservedNames.contains(name.lowercased()) {
                throw error(start, "\(Label.quote(name)) is a PromQL keyword, not a metric name; use {__name__=\(Label.quote(name))}")
            }
            metric = (name, start)
            skipSpace()
        }
        var matchers: [LabelMatcher] = []
        let braceStart = pos
        if peek() == "{" {
            matchers = try parseMatchers()
            skipSpace()
        } else if metric == nil {
            throw error(pos, "unexpected \(found): expected a metric name or \"{\"")
        }
        if pos < src.count {
            throw error(pos, "unexpected \(found) after the selector")
        }
        guard let metric else {
            if matchers.allSatisfy(\.matchesEmpty) {
                throw error(braceStart, "vector selector must contain at least one non-empty matcher")
            }
            return matchers
        }
        if let named = matchers.first(where: { $0.name == "__name__" }) {
            throw error(metric.position, "metric name must not be set twice: \(Label.quote(metric.name)) or \(Label.quote(named.value))")
        }
        // Cannot throw: equality matchers compile nothing.
        matchers.append(try! LabelMatcher(.equal, "__name__", metric.name))
        return matchers
    }

    /// `{ matcher, ... }` at `pos`.
    private mutating func parseMatchers() throws(SelectorError) -> [LabelMatcher] {
        pos += 1
        var matchers: [LabelMatcher] = []
        while true {
            skipSpace()
            guard let c = peek() else { throw error(pos, "unexpected end of input inside braces") }
            if c == "}" {
                pos += 1
                return matchers
            }
            matchers.append(try parseMatcher())
            skipSpace()
            switch peek() {
            case ",": pos += 1
            case "}": break
            case nil: throw error(pos, "unexpected end of input inside braces")
            default: throw error(pos, "unexpected \(found) in label matching, expected \",\" or \"}\"")
            }
        }
    }

    /// `label op "value"` at `pos`.
    private mutating func parseMatcher() throws(SelectorError) -> LabelMatcher {
        guard let c = peek(), isLabelNameStart(c) else {
            throw error(pos, "unexpected \(found) in label matching, expected a label name or \"}\"")
        }
        let nameStart = pos
        while let c = peek(), isLabelNameStart(c) || isDigit(c) { pos += 1 }
        let name = text(nameStart, pos)
        skipSpace()
        let opStart = pos
        let type: LabelMatcher.MatchType
        switch (peek(), peek(1)) {
        case ("=", "~"): type = .regexMatch
        case ("!", "~"): type = .regexNoMatch
        case ("!", "="): type = .notEqual
        case ("=", _): type = .equal
        case ("!", _):
            pos += 1
            throw error(pos, "unexpected character after \"!\": \(found)")
        default:
            throw error(pos, "unexpected \(found) after label name \(Label.quote(name)), expected one of =, !=, =~, !~")
        }
        pos = opStart + type.rawValue.unicodeScalars.count
        skipSpace()
        let valueStart = pos
        let value = try parseString()
        do {
            return try LabelMatcher(type, name, value)
        } catch {
            throw self.error(valueStart, error.description)
        }
    }

    /// A Go string literal at `pos`: `"..."` or `'...'` with escapes, or `` `...` `` raw.
    private mutating func parseString() throws(SelectorError) -> String {
        let start = pos
        guard let quote = peek(), quote == "\"" || quote == "'" || quote == "`" else {
            throw error(pos, "unexpected \(found) in label matching, expected a quoted string")
        }
        pos += 1
        if quote == "`" {
            guard let end = src[pos...].firstIndex(of: "`") else { throw error(start, "unterminated raw string") }
            defer { pos = end + 1 }
            return text(pos, end)
        }
        var bytes: [UInt8] = []
        while true {
            guard let c = peek(), c != "\n" else { throw error(start, "unterminated quoted string") }
            if c == quote {
                pos += 1
                break
            }
            if c == "\\" {
                try parseEscape(quote: quote, into: &bytes)
            } else {
                bytes.append(contentsOf: String(c).utf8)
                pos += 1
            }
        }
        // \x and octal escapes add single bytes, which must still form UTF-8.
        guard let string = String(validating: bytes, as: UTF8.self) else {
            throw error(start, "string is not valid UTF-8 once unescaped")
        }
        return string
    }

    /// One escape at `pos`, with Go's rules (and the PromQL lexer's messages).
    private mutating func parseEscape(quote: Unicode.Scalar, into bytes: inout [UInt8]) throws(SelectorError) {
        let start = pos
        pos += 1
        guard let c = peek() else { throw error(start, "escape sequence not terminated") }
        pos += 1
        let simple: [Unicode.Scalar: UInt8] = ["a": 0x07, "b": 0x08, "f": 0x0C, "n": 0x0A, "r": 0x0D, "t": 0x09, "v": 0x0B, "\\": 0x5C]
        if let byte = simple[c] {
            bytes.append(byte)
            return
        }
        if c == quote {
            bytes.append(UInt8(c.value))
            return
        }
        let digits: Int, base: UInt32
        switch c {
        case "0"..."7":
            pos -= 1
            (digits, base) = (3, 8)
        case "x": (digits, base) = (2, 16)
        case "u": (digits, base) = (4, 16)
        case "U": (digits, base) = (8, 16)
        default: throw error(start, "unknown escape sequence \(Label.quote(String(c)))")
        }
        var value: UInt32 = 0
        for _ in 0..<digits {
            guard let d = peek() else { throw error(start, "escape sequence not terminated") }
            guard let v = digitValue(d), v < base else {
                throw error(pos, "illegal character \(Label.quote(String(d))) in escape sequence")
            }
            value = value * base + v
            pos += 1
        }
        if c == "u" || c == "U" {
            guard let scalar = Unicode.Scalar(value) else {
                throw error(start, "escape sequence is an invalid Unicode code point")
            }
            bytes.append(contentsOf: String(scalar).utf8)
        } else {
            guard value <= 0xFF else { throw error(start, "escape sequence is an invalid Unicode code point") }
            bytes.append(UInt8(value))
        }
    }

    /// Spaces, tabs, line breaks and `#` comments up to the end of the line.
    private mutating func skipSpace() {
        while let c = peek() {
            if c == " " || c == "\t" || c == "\n" || c == "\r" {
                pos += 1
            } else if c == "#" {
                while let c = peek(), c != "\n" { pos += 1 }
            } else {
                return
            }
        }
    }

    private func text(_ from: Int, _ to: Int) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: src[from..<to])
        return String(view)
    }

    private func isLabelNameStart(_ c: Unicode.Scalar) -> Bool {
        c == "_" || ((c.value | 0x20) >= 0x61 && (c.value | 0x20) <= 0x7A)
    }

    private func isMetricNameStart(_ c: Unicode.Scalar) -> Bool { c == ":" || isLabelNameStart(c) }

    private func isDigit(_ c: Unicode.Scalar) -> Bool { c.value >= 0x30 && c.value <= 0x39 }

    private func digitValue(_ c: Unicode.Scalar) -> UInt32? {
        switch c.value {
        case 0x30...0x39: return c.value - 0x30
        case 0x41...0x46: return c.value - 0x41 + 10
        case 0x61...0x66: return c.value - 0x61 + 10
        default: return nil
        }
    }
}
