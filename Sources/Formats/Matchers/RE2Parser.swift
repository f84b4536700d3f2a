// MARK: - RE2 parser

/// Parses RE2 syntax exactly as Go's `regexp/syntax.Parse` does with the `Perl`
/// flags that `regexp.Compile` uses: same accepted language, same error codes
/// and fragments. Differences: nesting is capped at 1000 groups (Go caps the
/// tree height at 1000), Go's total-size limit is replaced by a tighter one on
/// the compiled program (`RegexProgram.maxInstructions`), and `\Q` without `\E`
/// is rejected as Prometheus 2.42 did (its `^(?:` wrapper swallowed `)$`).
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
            case "U": break  // non-greedy by default: no effect on a whole-string match
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
            if c != "0", !(peek().map(isOctal) ?? false) { break }  // \1 alone: a backreference
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
                let ranges = try parsePOSIXClass(flags)
            {
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
