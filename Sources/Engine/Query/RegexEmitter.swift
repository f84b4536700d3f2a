import RegexBuilder

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
