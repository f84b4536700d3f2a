import TestSupport
import Testing

@testable import Formats

/// One expectation: a matcher of `type` with `value` against a label value
/// (`""` standing for a series without the label).
struct MatchCase: Sendable, CustomTestStringConvertible {
    let type: LabelMatcher.MatchType
    let value: String
    let input: String
    let expected: Bool

    init(_ type: LabelMatcher.MatchType, _ value: String, _ input: String, _ expected: Bool) {
        self.type = type
        self.value = value
        self.input = input
        self.expected = expected
    }

    var testDescription: String { "\(type.rawValue)\(value.debugDescription) on \(input.debugDescription)" }
}

/// The regex rows were produced by Go 1.19's `regexp` compiling `^(?:re)$`, as
/// Prometheus 2.42 does.
private let semantics: [MatchCase] = [
    MatchCase(.equal, "", "", true),
    MatchCase(.equal, "", "x", false),
    MatchCase(.notEqual, "", "", false),
    MatchCase(.notEqual, "", "x", true),
    MatchCase(.equal, "foo", "foo", true),
    MatchCase(.equal, "foo", "Foo", false),
    MatchCase(.equal, "\u{E9}", "\u{E9}", true),
    MatchCase(.equal, "\u{E9}", "e\u{301}", false),
    MatchCase(.notEqual, "\u{E9}", "e\u{301}", true),
    MatchCase(.regexNoMatch, "foo", "foo", false),
    MatchCase(.regexNoMatch, "foo", "foobar", true),
    MatchCase(.regexNoMatch, "", "", false),
    MatchCase(.regexNoMatch, ".+", "", true),
    MatchCase(.regexNoMatch, "(?i)foo", "FOO", false),
    MatchCase(.regexMatch, "foo", "foo", true),
    MatchCase(.regexMatch, "foo", "foobar", false),
    MatchCase(.regexMatch, "foo", "xfoo", false),
    MatchCase(.regexMatch, "foo", "", false),
    MatchCase(.regexMatch, "foo", "foo\n", false),
    MatchCase(.regexMatch, ".*", "", true),
    MatchCase(.regexMatch, ".*", "anything", true),
    MatchCase(.regexMatch, ".*", "a\nb", false),
    MatchCase(.regexMatch, "(?s).*", "a\nb", true),
    MatchCase(.regexMatch, ".+", "", false),
    MatchCase(.regexMatch, ".+", "x", true),
    MatchCase(.regexMatch, ".+", "\n", false),
    MatchCase(.regexMatch, "foo|bar", "foo", true),
    MatchCase(.regexMatch, "foo|bar", "bar", true),
    MatchCase(.regexMatch, "foo|bar", "foobar", false),
    MatchCase(.regexMatch, "foo|bar", "", false),
    MatchCase(.regexMatch, "foo|", "", true),
    MatchCase(.regexMatch, "foo|", "foo", true),
    MatchCase(.regexMatch, "a|ab", "ab", true),
    MatchCase(.regexMatch, "(a|b)c", "ac", true),
    MatchCase(.regexMatch, "(a|b)c", "bc", true),
    MatchCase(.regexMatch, "(a|b)c", "abc", false),
    MatchCase(.regexMatch, "[a-c]x", "bx", true),
    MatchCase(.regexMatch, "[a-c]x", "dx", false),
    MatchCase(.regexMatch, "[^a-c]", "d", true),
    MatchCase(.regexMatch, "[^a-c]", "\n", true),
    MatchCase(.regexMatch, "[^a-c]", "a", false),
    MatchCase(.regexMatch, "\\d+", "123", true),
    MatchCase(.regexMatch, "\\d+", "\u{661}\u{662}", false),
    MatchCase(.regexMatch, "\\d+", "12a", false),
    MatchCase(.regexMatch, "\\w+", "abc_1", true),
    MatchCase(.regexMatch, "\\w+", "\u{E9}", false),
    MatchCase(.regexMatch, "\\s", " ", true),
    MatchCase(.regexMatch, "\\s", "\u{B}", false),
    MatchCase(.regexMatch, "\\s", "\t", true),
    MatchCase(.regexMatch, "[[:space:]]", "\u{B}", true),
    MatchCase(.regexMatch, "[[:^alpha:]]", "1", true),
    MatchCase(.regexMatch, "[[:^alpha:]]", "a", false),
    MatchCase(.regexMatch, "(?i)foo", "FOO", true),
    MatchCase(.regexMatch, "(?i)foo", "FoO", true),
    MatchCase(.regexMatch, "(?i)foo", "fo", false),
    MatchCase(.regexMatch, "(?i)k", "\u{212A}", true),
    MatchCase(.regexMatch, "(?i)k", "K", true),
    MatchCase(.regexMatch, "(?i)s", "\u{17F}", true),
    MatchCase(.regexMatch, "(?i)[a-c]", "B", true),
    MatchCase(.regexMatch, "(?i)[^a]", "A", false),
    MatchCase(.regexMatch, "(?i)[^a]", "b", true),
    MatchCase(.regexMatch, "(?i)\u{E9}", "\u{C9}", true),
    MatchCase(.regexMatch, "(?i)\u{131}", "I", false),
    MatchCase(.regexMatch, "(?i)\u{131}", "\u{131}", true),
    MatchCase(.regexMatch, "foo(?i)bar", "fooBAR", true),
    MatchCase(.regexMatch, "foo(?i)bar", "FOObar", false),
    MatchCase(.regexMatch, "(?i:a)b", "Ab", true),
    MatchCase(.regexMatch, "(?i:a)b", "AB", false),
    MatchCase(.regexMatch, "(?i)\\p{Lu}", "a", true),
    MatchCase(.regexMatch, "(?i)\\p{Lu}", "1", false),
    MatchCase(.regexMatch, "a.b", "a\nb", false),
    MatchCase(.regexMatch, "a.b", "a\rb", true),
    MatchCase(.regexMatch, "a.b", "a\u{2028}b", true),
    MatchCase(.regexMatch, "a.b", "a\u{1F600}b", true),
    MatchCase(.regexMatch, "a.b", "ae\u{301}b", false),
    MatchCase(.regexMatch, "(?s)a.b", "a\nb", true),
    MatchCase(.regexMatch, "a[^x]b", "a\nb", true),
    MatchCase(.regexMatch, "\u{E9}", "e\u{301}", false),
    MatchCase(.regexMatch, "\u{E9}", "\u{E9}", true),
    MatchCase(.regexMatch, ".", "\u{1F600}", true),
    MatchCase(.regexMatch, ".", "e\u{301}", false),
    MatchCase(.regexMatch, "\\x{1F600}", "\u{1F600}", true),
    MatchCase(.regexMatch, "\\p{Greek}+", "\u{3B1}\u{3B2}\u{3B3}", true),
    MatchCase(.regexMatch, "\\p{Greek}+", "abc", false),
    MatchCase(.regexMatch, "\\pL", "a", true),
    MatchCase(.regexMatch, "\\pL", "1", false),
    MatchCase(.regexMatch, "\\p{^Greek}", "a", true),
    MatchCase(.regexMatch, "\\p{^Greek}", "\u{3B1}", false),
    MatchCase(.regexMatch, "\\PL", "1", true),
    MatchCase(.regexMatch, "\\p{Lo}", "\u{F900}", true),
    MatchCase(.regexMatch, "[\\x{212A}-\\x{212B}]", "K", false),
    MatchCase(.regexMatch, "[\\x{212A}-\\x{212B}]", "\u{212B}", true),
    MatchCase(.regexMatch, "^foo$", "foo", true),
    MatchCase(.regexMatch, "foo$", "foo\n", false),
    MatchCase(.regexMatch, "(?m)foo$", "foo", true),
    MatchCase(.regexMatch, "(?m)a$\\nb", "a\nb", true),
    MatchCase(.regexMatch, "(?m)a\\n^b", "a\nb", true),
    MatchCase(.regexMatch, "(?m)a\\r^b", "a\rb", false),
    MatchCase(.regexMatch, "\\Afoo\\z", "foo", true),
    MatchCase(.regexMatch, "a\\b.", "a-", true),
    MatchCase(.regexMatch, "a\\b.", "ab", false),
    MatchCase(.regexMatch, "a\\b.", "a\u{E9}", true),
    MatchCase(.regexMatch, "a\\b.", "a1", false),
    MatchCase(.regexMatch, "a\\B1", "a1", true),
    MatchCase(.regexMatch, ".*\\bfoo\\b.*", "a foo b", true),
    MatchCase(.regexMatch, ".*\\bfoo\\b.*", "afoo", false),
    MatchCase(.regexMatch, ".*\\bfoo\\b.*", "foo", true),
    MatchCase(.regexMatch, ".*\\bfoo\\b.*", "foo1", false),
    MatchCase(.regexMatch, "a{2,3}", "aaa", true),
    MatchCase(.regexMatch, "a{2,3}", "aaaa", false),
    MatchCase(.regexMatch, "a{2,3}", "a", false),
    MatchCase(.regexMatch, "a{,3}", "a{,3}", true),
    MatchCase(.regexMatch, "a{,3}", "aaa", false),
    MatchCase(.regexMatch, "x*", "", true),
    MatchCase(.regexMatch, "(ab)+", "abab", true),
    MatchCase(.regexMatch, "(ab)+", "aba", false),
    MatchCase(.regexMatch, "a+?", "aaa", true),
    MatchCase(.regexMatch, "(\\A|a){2,}", "a", true),
    MatchCase(.regexMatch, "\\.", ".", true),
    MatchCase(.regexMatch, "\\.", "x", false),
    MatchCase(.regexMatch, "\\Q.*\\E", ".*", true),
    MatchCase(.regexMatch, "\\Q.*\\E", "ab", false),
    MatchCase(.regexMatch, "\\x41\\101\\t", "AA\t", true),
    MatchCase(.regexMatch, "", "", true),
    MatchCase(.regexMatch, "", "a", false),
    MatchCase(.regexMatch, "^*a", "a", true),
    MatchCase(.regexMatch, "(?P<name>a)", "a", true),
    MatchCase(.regexMatch, "[]a]", "]", true),
    MatchCase(.regexMatch, "[a-]", "-", true),
    MatchCase(.regexMatch, "(?U)a+", "aaa", true),
    MatchCase(.regexMatch, "(a*)*b", String(repeating: "a", count: 40) + "b", true),
    MatchCase(.regexMatch, "(a*)*b", String(repeating: "a", count: 40), false),
    // Backtracking engines take exponential time on these; Go's regexp cannot.
    // These rows and the ones down to U+FFFD were written by hand, not run
    // through Go: each follows from the regex's language alone.
    MatchCase(.regexMatch, "(x|x)*y", String(repeating: "x", count: 40) + "y", true),
    MatchCase(.regexMatch, "(x|x)*y", String(repeating: "x", count: 40), false),
    MatchCase(.regexMatch, "(a|aa)*c", String(repeating: "a", count: 40) + "c", true),
    MatchCase(.regexMatch, "(a|aa)*c", String(repeating: "a", count: 40), false),
    MatchCase(.regexMatch, "(a+a+)+b", String(repeating: "a", count: 40), false),
    MatchCase(.regexMatch, "(.*a){12}", String(repeating: "a", count: 40) + "b", false),
    MatchCase(.regexMatch, "(a?){30}a{30}", String(repeating: "a", count: 30), true),
    MatchCase(.regexMatch, "(a?){30}a{30}", String(repeating: "a", count: 29), false),
    MatchCase(.regexMatch, "((a{2}){3}){2}", String(repeating: "a", count: 12), true),
    MatchCase(.regexMatch, "((a{2}){3}){2}", String(repeating: "a", count: 11), false),
    MatchCase(.regexMatch, "(a{2,3}){2}", "aaaa", true),
    MatchCase(.regexMatch, "(a{2,3}){2}", "aaaaaa", true),
    MatchCase(.regexMatch, "(a{2,3}){2}", "aaa", false),
    MatchCase(.regexMatch, "(a{2,3}){2}", "aaaaaaa", false),
    MatchCase(.regexMatch, "(a{1,2}b?){2,}", "aabab", true),
    MatchCase(.regexMatch, "(a{1,2}b?){2,}", "ab", false),
    MatchCase(.regexMatch, "(?:(?:a*)*)*", "", true),
    MatchCase(.regexMatch, "(\\b|a)*", "aa", true),
    MatchCase(.regexMatch, "(?m)(^a$\\n?)+", "a\na\na", true),
    MatchCase(.regexMatch, "(?m)(^a$\\n?)+", "a\naa", false),
    MatchCase(.regexMatch, "\\bfoo\\b", "foo", true),
    MatchCase(.regexMatch, ".", "\u{FFFD}", true),
    MatchCase(.regexMatch, "\\x{D800}|a", "a", true),
    MatchCase(.regexMatch, "\\x{D800}|a", "", false)
]

@Suite struct LabelMatcherSemanticsTests {
    @Test(arguments: semantics)
    func matchesLikePrometheus(_ c: MatchCase) throws {
        let matcher = try LabelMatcher(c.type, "l", c.value)
        #expect(matcher.matches(c.input) == c.expected)
    }

    @Test(arguments: [
        MatchCase(.equal, "", "", true),
        MatchCase(.equal, "x", "", false),
        MatchCase(.notEqual, "", "", false),
        MatchCase(.notEqual, "x", "", true),
        MatchCase(.regexMatch, ".*", "", true),
        MatchCase(.regexMatch, ".+", "", false),
        MatchCase(.regexMatch, "foo|", "", true),
        MatchCase(.regexMatch, "a*", "", true),
        MatchCase(.regexMatch, "^$", "", true),
        MatchCase(.regexNoMatch, ".+", "", true),
        MatchCase(.regexNoMatch, ".*", "", false),
        MatchCase(.regexNoMatch, "", "", false)
    ])
    func matchesEmptyIsTheMissingLabelAnswer(_ c: MatchCase) throws {
        let matcher = try LabelMatcher(c.type, "l", c.value)
        #expect(matcher.matchesEmpty == c.expected)
        #expect(matcher.matches("") == c.expected)
    }

    @Test func descriptionQuotesLikePrometheus() throws {
        #expect(try LabelMatcher(.regexMatch, "job", #"a"b\\c"#).description == #"job=~"a\"b\\\\c""#)
        #expect(try LabelMatcher(.notEqual, "env", "").description == #"env!="""#)
        #expect(LabelMatcher.MatchType.regexNoMatch.rawValue == "!~")
    }

    @Test func equalityAndHashingAreOnTypeNameAndBytes() throws {
        let a = try LabelMatcher(.equal, "job", "api")
        #expect(a == (try LabelMatcher(.equal, "job", "api")))
        #expect(a != (try LabelMatcher(.notEqual, "job", "api")))
        #expect(a != (try LabelMatcher(.equal, "job", "Api")))
        // Canonically equivalent, different bytes: different matchers, as in Prometheus.
        let nfc = try LabelMatcher(.equal, "l", "\u{E9}"), nfd = try LabelMatcher(.equal, "l", "e\u{301}")
        #expect(nfc != nfd)
        #expect(Set([a, try LabelMatcher(.equal, "job", "api"), nfc, nfd]).count == 3)
    }

    /// `filter` reuses one working memory across values: every matcher of the
    /// table over every input of the table gives `matches`'s answers.
    @Test func filterAgreesWithMatches() throws {
        let inputs = semantics.map(\.input)
        for c in semantics {
            let matcher = try LabelMatcher(c.type, "l", c.value)
            #expect(matcher.filter(inputs) == inputs.filter(matcher.matches), "\(c.value)")
        }
    }

    /// Linear time: a pathological pattern over 100,000 characters returns at
    /// once (a backtracking engine would not return at all).
    @Test func longValuesAgainstPathologicalPatterns() throws {
        let xs = String(repeating: "x", count: 100_000)
        #expect(try LabelMatcher(.regexMatch, "l", "(x|x)*y").matches(xs) == false)
        #expect(try LabelMatcher(.regexMatch, "l", "(x|x)*y").matches(xs + "y"))
        #expect(try LabelMatcher(.regexMatch, "l", "(x+x+)+y").matches(xs) == false)
        #expect(try LabelMatcher(.regexNoMatch, "l", "(x*)*z").matches(xs))
    }

    @Test func sharedAcrossTasks() async throws {
        let matcher = try LabelMatcher(.regexMatch, "instance", "host-[0-9]+:(80|443)")
        let hits = await withTaskGroup(of: Int.self) { group in
            for task in 0..<8 {
                group.addTask {
                    (0..<500).filter { matcher.matches("host-\(task * 1000 + $0):\($0 % 2 == 0 ? "80" : "8080")") }.count
                }
            }
            return await group.reduce(0, +)
        }
        #expect(hits == 8 * 250)
    }
}

@Suite struct RegexFastPathTests {
    private static func key(_ strings: String...) -> Set<UTF8Key> { Set(strings.map(UTF8Key.init)) }

    @Test func shapesThatSkipTheEngine() throws {
        let expected: [(String, FastPath?)] = [
            ("foo", .equal("foo")),
            (#"a\.b"#, .equal("a.b")),
            ("", .equal("")),
            ("^foo$", .equal("foo")),
            ("(foo)", .equal("foo")),
            ("foo|bar|baz", .oneOf(Self.key("foo", "bar", "baz"))),
            ("foo|", .oneOf(Self.key("foo", ""))),
            ("^(a|b)$", .oneOf(Self.key("a", "b"))),
            (".*", .any(newlines: false, nonEmpty: false)),
            (".+", .any(newlines: false, nonEmpty: true)),
            ("(?s).*", .any(newlines: true, nonEmpty: false)),
            ("foo.*", .prefix("foo", newlines: false)),
            ("(?s)foo.*", .prefix("foo", newlines: true)),
            (".*foo", .suffix("foo", newlines: false)),
            (".*foo.*", .contains("foo", newlines: false)),
            ("(?i)foo", nil),
            ("fo+", nil),
            (".*a.+", nil),
            ("a[bc]", nil),
            (#".*a\nb.*"#, nil)
        ]
        for (pattern, fastPath) in expected {
            #expect(try LabelRegex(pattern).fastPath == fastPath, "\(pattern)")
        }
    }

    /// Each fast path must give the engine's answer on every input.
    @Test func fastPathsAgreeWithTheEngine() throws {
        let patterns = [
            "foo", "", "é", "e\u{301}", #"a\nb"#, "foo|bar|", "é|e\u{301}|x", ".*", ".+", "(?s).*", "(?s).+",
            "foo.*", "(?s)foo.*", #"a\n.*"#, ".*foo", "(?s).*foo", #".*\nb"#, ".*foo.*", "(?s).*foo.*", ".*é.*",
            #"(?s).*a\nb.*"#, "^foo.*$", #"\Afoo|bar\z"#
        ]
        let pieces = ["foo", "bar", "f", "o", "a", "b", "é", "e\u{301}", "\u{301}", "\n", "\r", "😀", "x", ""]
        var rng = SplitMix64(seed: 0x5EED_F00D)
        for pattern in patterns {
            let regex = try LabelRegex(pattern)
            #expect(regex.fastPath != nil, "\(pattern) should take a fast path")
            var inputs = pieces
            for _ in 0..<1500 {
                let count = Int.random(in: 0...5, using: &rng)
                inputs.append((0..<count).map { _ in pieces.randomElement(using: &rng)! }.joined())
            }
            let disagreements = inputs.filter { regex.matches($0) != regex.engineMatches($0) }
            #expect(disagreements.isEmpty, "\(pattern): \(disagreements.prefix(3))")
        }
    }

    /// Regexes without a fast path test their literal prefix before the NFA.
    @Test func literalPrefixesAgreeWithTheEngine() throws {
        let expected = [
            ("foo[0-9]+", "foo"), ("^fo(o|a)", "fo"), (#"\Afoo\d*bar"#, "foo"), ("é+x", ""), ("éx+", "é"),
            ("(?i)foo.+", ""), ("(fo|fa)o+", ""), (#"f\bo+"#, "f"), ("(foo)+", "")
        ]
        let pieces = ["foo", "fo", "f", "o", "a", "x", "1", "bar", "é", "e\u{301}", "\n", ""]
        var rng = SplitMix64(seed: 0xF1_0A7)
        for (pattern, prefix) in expected {
            let regex = try LabelRegex(pattern)
            #expect(regex.fastPath == nil, "\(pattern)")
            #expect(regex.requiredPrefix == prefix, "\(pattern)")
            var inputs = pieces
            for _ in 0..<1000 {
                let count = Int.random(in: 0...5, using: &rng)
                inputs.append((0..<count).map { _ in pieces.randomElement(using: &rng)! }.joined())
            }
            let disagreements = inputs.filter { regex.matches($0) != regex.engineMatches($0) }
            #expect(disagreements.isEmpty, "\(pattern): \(disagreements.prefix(3))")
        }
    }
}

@Suite struct InvalidRegexTests {
    /// Kinds and fragments as Go 1.19's `regexp/syntax` reports them.
    @Test(arguments: [
        ("(", MatcherError.Kind.missingParen, "("),
        ("a)", .unexpectedParen, "a)"),
        ("[a", .missingBracket, "[a"),
        ("[]", .missingBracket, "[]"),
        ("a**", .invalidRepeatOp, "**"),
        ("a*+", .invalidRepeatOp, "*+"),
        ("x{2}{3}", .invalidRepeatOp, "{2}{3}"),
        ("*a", .missingRepeatArgument, "*"),
        ("(?=a)", .invalidPerlOp, "(?="),
        ("(?!a)", .invalidPerlOp, "(?!"),
        ("(?<=a)b", .invalidPerlOp, "(?<"),
        ("(?<name>a)", .invalidPerlOp, "(?<"),
        ("(?>a)", .invalidPerlOp, "(?>"),
        ("(?i", .invalidPerlOp, "(?i"),
        ("(?i-)", .invalidPerlOp, "(?i-)"),
        (#"(a)\1"#, .invalidEscape, #"\1"#),
        (#"\C"#, .invalidEscape, #"\C"#),
        (#"\Z"#, .invalidEscape, #"\Z"#),
        (#"[\b]"#, .invalidEscape, #"\b"#),
        (#"\x{110000}"#, .invalidEscape, #"\x{110000"#),
        ("a{1001}", .invalidRepeatSize, "{1001}"),
        ("(a{100}){100}", .invalidRepeatSize, "{100}"),
        ("[z-a]", .invalidCharRange, "z-a"),
        (#"\p{Foo}"#, .invalidCharRange, #"\p{Foo}"#),
        (#"\p{greek}"#, .invalidCharRange, #"\p{greek}"#),
        ("[[:foo:]]", .invalidCharRange, "[:foo:]"),
        ("(?P<a-b>x)", .invalidNamedCapture, "(?P<a-b>"),
        (#"a\"#, .trailingBackslash, ""),
        // Prometheus 2.42 compiled `^(?:\Qfoo)$`, where \Q swallowed the `)`.
        (#"\Qfoo"#, .missingParen, #"\Qfoo"#)
    ])
    func rejectedLikePrometheus(_ regex: String, _ kind: MatcherError.Kind, _ fragment: String) {
        #expect(throws: MatcherError(regex: regex, kind: kind, fragment: fragment)) {
            try LabelMatcher(.regexMatch, "l", regex)
        }
        #expect(throws: MatcherError.self) { try LabelMatcher(.regexNoMatch, "l", regex) }
    }

    @Test func messagesNameTheRegexAndTheMissingFeature() {
        let cases = [
            ("(?=a)", "invalid regular expression \"(?=a)\": invalid or unsupported Perl syntax: `(?=` (RE2 syntax has no lookahead)"),
            (
                "(?<=a)",
                "invalid regular expression \"(?<=a)\": invalid or unsupported Perl syntax: `(?<` (RE2 syntax names groups as (?P<name>...); lookbehind is not supported)"
            ),
            (#"(a)\1"#, #"invalid regular expression "(a)\\1": invalid escape sequence: `\1` (RE2 syntax has no backreferences)"#),
            ("a++", "invalid regular expression \"a++\": invalid nested repetition operator: `++` (RE2 syntax has no possessive quantifiers)"),
            ("[a", "invalid regular expression \"[a\": missing closing ]: `[a`")
        ]
        for (regex, message) in cases {
            let error = #expect(throws: MatcherError.self) { try LabelMatcher(.regexMatch, "l", regex) }
            #expect(error?.description == message)
        }
    }

    @Test func equalityMatchersTakeAnyText() throws {
        #expect(try LabelMatcher(.equal, "l", "(").matches("("))
        #expect(try LabelMatcher(.notEqual, "l", "[a").matches("x"))
    }

    @Test func nestingLimits() throws {
        func nested(_ depth: Int, _ close: String) -> String {
            String(repeating: "(", count: depth) + "a" + String(repeating: close, count: depth)
        }
        #expect(try LabelMatcher(.regexMatch, "l", nested(1000, ")")).matches("a"))
        let tooDeep = #expect(throws: MatcherError.self) { try LabelMatcher(.regexMatch, "l", nested(1001, ")")) }
        #expect(tooDeep?.kind == .nestingDepth)
        #expect(try LabelMatcher(.regexMatch, "l", nested(100, ")*")).matches("aaa"))
        let deep = String(repeating: "(a", count: 1000) + String(repeating: ")*", count: 1000)
        #expect(try LabelMatcher(.regexMatch, "l", deep).matches(String(repeating: "a", count: 3000)))
    }

    /// Each `x{1000}` is valid alone (Go 1.19 takes any number of them), but the
    /// program they add up to is refused before it is built out.
    @Test func oversizedProgramsAreRefused() throws {
        let fits = String(repeating: "x{1000}", count: 49)
        #expect(try LabelMatcher(.regexMatch, "l", fits).matches(String(repeating: "x", count: 49_000)))
        let huge = String(repeating: "x{1000}", count: 51)
        let error = #expect(throws: MatcherError.self) { try LabelMatcher(.regexMatch, "l", huge) }
        #expect(error?.kind == .tooLarge)
        #expect(error?.description == "invalid regular expression \"\(huge)\": expression too large: `\(huge)`")
        // Repeats are copies of one compiled fragment: one class however often it repeats.
        let classes = try RegexProgram(RE2Parser.parse(String(repeating: #"[\pL\pN]{1000}"#, count: 49)))
        #expect(classes.sets.count == 1)
        #expect(classes.instructions.count == 49_001)
    }

    /// Every script name Go accepts resolves here, so `unsupportedScript` stays
    /// a guard against a different Unicode build, not a reachable error.
    @Test func everyGoScriptResolves() {
        let missing = UnicodeTables.scripts.filter { ScriptClass($0) == nil }
        #expect(missing.isEmpty)
        #expect(ScriptClass("Greek")?.contains("\u{3B1}") == true)
        #expect(ScriptClass("Greek")?.contains("a") == false)
    }
}

/// Valid for Go 1.19, but past `RegexProgram.maxInstructions`.
private let hugeRegex = String(repeating: "x{1000}", count: 51)

@Suite struct SelectorParserTests {
    private static func m(_ type: LabelMatcher.MatchType, _ name: String, _ value: String) -> LabelMatcher {
        try! LabelMatcher(type, name, value)
    }

    @Test func validSelectors() throws {
        let name = Self.m(.equal, "__name__", "http_requests_total")
        let cases: [(String, [LabelMatcher])] = [
            ("http_requests_total", [name]),
            ("http_requests_total{}", [name]),
            (#"{job="api"}"#, [Self.m(.equal, "job", "api")]),
            (
                #"http_requests_total{job="api", code!="200", path=~"/v1/.*", method!~"GET|HEAD",}"#,
                [
                    Self.m(.equal, "job", "api"), Self.m(.notEqual, "code", "200"),
                    Self.m(.regexMatch, "path", "/v1/.*"), Self.m(.regexNoMatch, "method", "GET|HEAD"), name
                ]
            ),
            (" \t\nhttp_requests_total \n{ job = \"api\" , } # comment", [Self.m(.equal, "job", "api"), name]),
            ("{job='api'}", [Self.m(.equal, "job", "api")]),
            ("{re=`a\\d+\"`}", [Self.m(.equal, "re", #"a\d+""#)]),
            ("{raw=`line1\nline2`}", [Self.m(.equal, "raw", "line1\nline2")]),
            (
                #"{v="q\"uote \\ \n \t \u00e9 \x41 \101 \U0001F600 \a"}"#,
                [Self.m(.equal, "v", "q\"uote \\ \n \t \u{E9} A A \u{1F600} \u{7}")]
            ),
            (#"{v="\xc3\xa9"}"#, [Self.m(.equal, "v", "\u{E9}")]),
            ("{v='it\\'s'}", [Self.m(.equal, "v", "it's")]),
            (#"{v="é"}"#, [Self.m(.equal, "v", "é")]),
            ("job:rate5m:sum", [Self.m(.equal, "__name__", "job:rate5m:sum")]),
            (":colon", [Self.m(.equal, "__name__", ":colon")]),
            (#"sum{by="x"}"#, [Self.m(.equal, "by", "x"), Self.m(.equal, "__name__", "sum")]),
            (#"{__name__="up"}"#, [Self.m(.equal, "__name__", "up")]),
            (#"{a="", b=~".+"}"#, [Self.m(.equal, "a", ""), Self.m(.regexMatch, "b", ".+")])
        ]
        for (text, expected) in cases {
            #expect(try SelectorParser.parse(text) == expected, "\(text)")
        }
    }

    @Test(arguments: [
        ("", 0, "empty selector"),
        ("  # only a comment", 18, "empty selector"),
        ("{}", 0, "vector selector must contain at least one non-empty matcher"),
        (#"{a=""}"#, 0, "vector selector must contain at least one non-empty matcher"),
        (#" {a=~".*", b!~".+"}"#, 1, "vector selector must contain at least one non-empty matcher"),
        (#"{1a="b"}"#, 1, #"unexpected "1" in label matching, expected a label name or "}""#),
        (#"{a-b="c"}"#, 2, #"unexpected "-" after label name "a", expected one of =, !=, =~, !~"#),
        (#"{a:b="c"}"#, 2, #"unexpected ":" after label name "a", expected one of =, !=, =~, !~"#),
        ("1foo", 0, #"unexpected "1": expected a metric name or "{""#),
        ("foo-bar", 3, #"unexpected "-" after the selector"#),
        (#"foo{a="b"} bar"#, 11, #"unexpected "b" after the selector"#),
        ("foo[5m]", 3, #"unexpected "[" after the selector"#),
        (#"{a="b"#, 3, "unterminated quoted string"),
        ("{a=\"b\nc\"}", 3, "unterminated quoted string"),
        ("{a=`b", 3, "unterminated raw string"),
        (#"{a=="b"}"#, 3, #"unexpected "=" in label matching, expected a quoted string"#),
        (#"{a<"b"}"#, 2, #"unexpected "<" after label name "a", expected one of =, !=, =~, !~"#),
        (#"{a!"b"}"#, 3, #"unexpected character after "!": "\"""#),
        (#"{a=b}"#, 3, #"unexpected "b" in label matching, expected a quoted string"#),
        (#"{a="b",,}"#, 7, #"unexpected "," in label matching, expected a label name or "}""#),
        (#"{,}"#, 1, #"unexpected "," in label matching, expected a label name or "}""#),
        (#"{a="b" c="d"}"#, 7, #"unexpected "c" in label matching, expected "," or "}""#),
        (#"{a="b""#, 6, "unexpected end of input inside braces"),
        (#"foo{__name__="bar"}"#, 0, #"metric name must not be set twice: "foo" or "bar""#),
        (#"{a="\q"}"#, 4, #"unknown escape sequence "q""#),
        (#"{a="\u12"#, 4, "escape sequence not terminated"),
        (#"{a="\u12"}"#, 8, #"illegal character "\"" in escape sequence"#),
        (#"{a="\xZZ"}"#, 6, #"illegal character "Z" in escape sequence"#),
        (#"{a="\ud800"}"#, 4, "escape sequence is an invalid Unicode code point"),
        (#"{a="\777"}"#, 4, "escape sequence is an invalid Unicode code point"),
        (#"{a="\xff"}"#, 3, "string is not valid UTF-8 once unescaped"),
        ("{a=\"\\'\"}", 4, #"unknown escape sequence "'""#),
        ("on", 0, #""on" is a PromQL keyword, not a metric name; use {__name__="on"}"#),
        ("Inf{a=\"b\"}", 0, #""Inf" is a PromQL keyword, not a metric name; use {__name__="Inf"}"#),
        (#"{a=~"("}"#, 4, #"invalid regular expression "(": missing closing ): `(`"#),
        ("{a=~\"" + hugeRegex + "\"}", 4, "invalid regular expression \"\(hugeRegex)\": expression too large: `\(hugeRegex)`")
    ])
    func rejected(_ text: String, _ position: Int, _ reason: String) {
        #expect(throws: SelectorError(position: position, reason: reason)) { try SelectorParser.parse(text) }
    }

    @Test func errorDescriptionCarriesPosition() {
        #expect(
            SelectorError(position: 3, reason: "unterminated quoted string").description
                == "parse error at position 3: unterminated quoted string")
    }
}
