// MARK: - Compiled NFA

/// A `RegexNode` compiled to a Thompson NFA and run by simulation (a Pike VM
/// without captures: a whole-string match only needs the set of live states),
/// so matching takes time proportional to the value's length times the
/// program's size whatever the pattern, as with Go's `regexp`. Backtracking
/// engines go exponential on `(x|x)*y`; this cannot.
///
/// The match is anchored at both ends, as Prometheus's `^(?:re)$`.
struct RegexProgram: Sendable {
    enum Assertion: Sendable {
        case beginText, endText, beginLine, endLine, wordBoundary, notWordBoundary
    }

    enum Instruction: Sendable {
        case scalar(UInt32)
        /// Index into `sets`.
        case set(Int)
        case split(Int, Int)
        case jump(Int)
        case assert(Assertion)
        case match
    }

    /// The parser bounds counted repetition as Go does (1000 copies, nested
    /// repeats multiplying), but chaining them (`x{1000}x{1000}…`) grows the
    /// program with the regex's length times 1000; Go's own later size limit
    /// allows millions of instructions. RE2 refuses programs past a memory
    /// budget; this is ours, about 1 MB of instructions.
    static let maxInstructions = 50_000

    let instructions: [Instruction]
    let sets: [ClassMatcher]

    enum Failure: Error {
        case tooLarge
        /// A script name Swift's `Regex` does not know (see `ScriptClass`).
        case unsupportedScript(String)
    }

    init(_ node: RegexNode) throws(Failure) {
        var compiler = Compiler()
        guard compiler.emit(node), compiler.append(.match) else { throw compiler.failure ?? .tooLarge }
        instructions = compiler.program
        sets = compiler.sets
    }

    /// The simulation's working memory, reusable across values (`LabelMatcher.filter`).
    struct Scratch {
        /// Live states before the current scalar and after it.
        fileprivate var current: [Int32] = [], next: [Int32] = []
        /// Per instruction, the last step that added it: no state is added twice
        /// per step, which is what bounds the work (and ends empty loops).
        fileprivate var marks: [Int]
        fileprivate var stack: [Int32] = []
        fileprivate var step = 0

        init(for program: RegexProgram) {
            marks = [Int](repeating: 0, count: program.instructions.count)
        }
    }

    func matches(_ value: String) -> Bool {
        var scratch = Scratch(for: self)
        return matches(value, &scratch)
    }

    func matches(_ value: String, _ scratch: inout Scratch) -> Bool {
        var scalars = value.unicodeScalars.makeIterator()
        var scalar = scalars.next()
        scratch.step += 1
        scratch.current.removeAll(keepingCapacity: true)
        addClosure(0, &scratch, prev: nil, next: scalar)
        while let c = scalar {
            let following = scalars.next()
            scratch.step += 1
            scratch.next.removeAll(keepingCapacity: true)
            for pc in scratch.current {
                let consumes: Bool
                switch instructions[Int(pc)] {
                case let .scalar(expected): consumes = c.value == expected
                case let .set(index): consumes = sets[index].contains(c)
                default: consumes = false
                }
                if consumes { addClosure(Int(pc) + 1, &scratch, prev: c, next: following) }
            }
            if scratch.next.isEmpty { return false }
            swap(&scratch.current, &scratch.next)
            scalar = following
        }
        return scratch.current.contains { if case .match = instructions[Int($0)] { return true } else { return false } }
    }

    /// Adds `pc` and every state reachable from it without consuming input to
    /// `scratch.next` (to `current` for the start, where `prev` is nil), keeping
    /// only those that consume or accept.
    private func addClosure(_ pc: Int, _ scratch: inout Scratch, prev: Unicode.Scalar?, next: Unicode.Scalar?) {
        let initial = prev == nil
        scratch.stack.append(Int32(pc))
        while let top = scratch.stack.popLast() {
            let pc = Int(top)
            if scratch.marks[pc] == scratch.step { continue }
            scratch.marks[pc] = scratch.step
            switch instructions[pc] {
            case .scalar, .set, .match:
                if initial { scratch.current.append(top) } else { scratch.next.append(top) }
            case let .jump(to):
                scratch.stack.append(Int32(to))
            case let .split(a, b):
                scratch.stack.append(Int32(b))
                scratch.stack.append(Int32(a))
            case let .assert(kind):
                if Self.holds(kind, prev: prev, next: next) { scratch.stack.append(top + 1) }
            }
        }
    }

    private static func holds(_ kind: Assertion, prev: Unicode.Scalar?, next: Unicode.Scalar?) -> Bool {
        switch kind {
        case .beginText: return prev == nil
        case .endText: return next == nil
        case .beginLine: return prev == nil || prev == "\n"
        case .endLine: return next == nil || next == "\n"
        case .wordBoundary: return isWord(prev) != isWord(next)
        case .notWordBoundary: return isWord(prev) == isWord(next)
        }
    }

    /// RE2's `\b` word characters: ASCII `[0-9A-Za-z_]` only; the text's ends are non-word.
    private static func isWord(_ c: Unicode.Scalar?) -> Bool {
        guard let v = c?.value else { return false }
        return v == 0x5F || (v >= 0x30 && v <= 0x39) || ((v | 0x20) >= 0x61 && (v | 0x20) <= 0x7A)
    }

    /// Thompson construction with a running size check, so a huge expansion
    /// stops allocating at the limit instead of after it.
    private struct Compiler {
        var program: [Instruction] = []
        var sets: [ClassMatcher] = []
        var setIndex: [ScalarSet: Int] = [:]
        var failure: Failure?

        mutating func append(_ instruction: Instruction) -> Bool {
            guard program.count < RegexProgram.maxInstructions else { return false }
            program.append(instruction)
            return true
        }

        /// Appends a placeholder to be patched once its targets are known.
        mutating func hole() -> Int? {
            append(.match) ? program.count - 1 : nil
        }

        mutating func emit(_ node: RegexNode) -> Bool {
            switch node {
            case .empty:
                return true
            case let .literal(scalar):
                return append(.scalar(scalar.value))
            case let .set(set):
                if set.scripts.isEmpty, !set.negated, set.ranges.count == 1, set.ranges[0].count == 1 {
                    return append(.scalar(set.ranges[0].lowerBound))
                }
                if let index = setIndex[set] { return append(.set(index)) }
                do throws(Failure) {
                    sets.append(try ClassMatcher(set))
                } catch {
                    failure = error
                    return false
                }
                setIndex[set] = sets.count - 1
                return append(.set(sets.count - 1))
            case .beginText: return append(.assert(.beginText))
            case .endText: return append(.assert(.endText))
            case .beginLine: return append(.assert(.beginLine))
            case .endLine: return append(.assert(.endLine))
            case .wordBoundary: return append(.assert(.wordBoundary))
            case .notWordBoundary: return append(.assert(.notWordBoundary))
            case let .concatenation(items):
                return items.allSatisfy { emit($0) }
            case let .alternation(branches):
                var exits: [Int] = []
                for branch in branches.dropLast() {
                    guard let split = hole() else { return false }
                    guard emit(branch), let exit = hole() else { return false }
                    exits.append(exit)
                    program[split] = .split(split + 1, program.count)
                }
                guard emit(branches.last!) else { return false }
                for exit in exits { program[exit] = .jump(program.count) }
                return true
            case let .repetition(sub, min, max, _):
                return emitRepetition(sub, min: min, max: max)
            }
        }

        /// Copies after the first are the first's instructions relocated, not a
        /// new walk of the tree: `[\pL\pN]{1000}` costs one class, and nested
        /// repeats cost a copy each instead of a walk each.
        private mutating func emitRepetition(_ sub: RegexNode, min: Int, max: Int?) -> Bool {
            var first: Range<Int>?
            func body(_ compiler: inout Compiler) -> Bool {
                if let first { return compiler.copy(first) }
                let start = compiler.program.count
                guard compiler.emit(sub) else { return false }
                first = start..<compiler.program.count
                return true
            }
            guard let max else {
                if min == 0 {
                    // L: split(body, out); body; jump L
                    guard let split = hole(), body(&self), append(.jump(split)) else { return false }
                    program[split] = .split(split + 1, program.count)
                    return true
                }
                for _ in 0..<(min - 1) {
                    guard body(&self) else { return false }
                }
                // L: body; split(L, out)
                let start = program.count
                guard body(&self) else { return false }
                return append(.split(start, program.count + 1))
            }
            for _ in 0..<min {
                guard body(&self) else { return false }
            }
            // Each optional copy may be skipped to the end: x{2,4} is xx(x(x)?)?.
            var skips: [Int] = []
            for _ in 0..<(max - min) {
                guard let split = hole() else { return false }
                skips.append(split)
                guard body(&self) else { return false }
            }
            for split in skips { program[split] = .split(split + 1, program.count) }
            return true
        }

        /// Appends `block` again, its jumps moved with it (a fragment only jumps
        /// within itself or to its end).
        private mutating func copy(_ block: Range<Int>) -> Bool {
            let shift = program.count - block.lowerBound
            for pc in block {
                let moved: Instruction
                switch program[pc] {
                case let .split(a, b): moved = .split(a + shift, b + shift)
                case let .jump(to): moved = .jump(to + shift)
                case let other: moved = other
                }
                guard append(moved) else { return false }
            }
            return true
        }
    }
}

/// Membership in a `ScalarSet`: its ranges by binary search, its scripts through
/// `ScriptClass`.
struct ClassMatcher: Sendable {
    private let lows: [UInt32]
    private let highs: [UInt32]
    private let scripts: [(ScriptClass, negated: Bool)]
    private let negated: Bool

    init(_ set: ScalarSet) throws(RegexProgram.Failure) {
        lows = set.ranges.map(\.lowerBound)
        highs = set.ranges.map(\.upperBound)
        var scripts: [(ScriptClass, negated: Bool)] = []
        for script in set.scripts {
            guard let member = ScriptClass(script.name) else { throw .unsupportedScript(script.name) }
            scripts.append((member, script.negated))
        }
        self.scripts = scripts
        negated = set.negated
    }

    func contains(_ c: Unicode.Scalar) -> Bool {
        var low = 0, high = lows.count
        while low < high {
            let mid = (low + high) / 2
            if lows[mid] <= c.value { low = mid + 1 } else { high = mid }
        }
        var member = low > 0 && c.value <= highs[low - 1]
        if !member { member = scripts.contains { $0.0.contains(c) != $0.negated } }
        return member != negated
    }
}

/// Membership in a Unicode script. The standard library exposes no script
/// property, but Swift's `Regex` knows `\p{Script=…}`: each test is that
/// one-scalar class against a one-scalar string, which cannot backtrack.
///
/// `Regex` is not `Sendable` in Swift 6; sharing this one is safe because
/// nothing mutates it after `init` and its lazily lowered program is published
/// with an atomic compare-and-swap (`Regex.Program.loweredProgram` in
/// swift-experimental-string-processing).
final class ScriptClass: @unchecked Sendable {
    private let regex: Regex<Substring>

    /// Nil when Swift's `Regex` does not know the script `name`.
    init?(_ name: String) {
        guard let regex = try? Regex(#"\p{Script="# + name + "}", as: Substring.self) else { return nil }
        self.regex = regex.matchingSemantics(.unicodeScalar)
        _ = contains("a")  // lower it now, not on the first lookup
    }

    func contains(_ c: Unicode.Scalar) -> Bool {
        (try? regex.wholeMatch(in: String(c))) != nil
    }
}
