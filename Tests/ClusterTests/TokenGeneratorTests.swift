import TestSupport
import Testing

@testable import Cluster

/// Yields 0, 1, 2, … so a test knows every draw.
private struct Counting: RandomNumberGenerator {
    var value: UInt64 = 0
    mutating func next() -> UInt64 {
        defer { value += 1 }
        return value
    }
}

@Suite struct TokenGeneratorTests {
    @Test func randomTokensAreSortedUniqueAndFree() throws {
        let seed = TestSeed.make()
        var rng = SplitMix64(seed: seed)
        var taken = Set<UInt32>()
        for _ in 0..<20 {
            let tokens = try RandomTokenGenerator.generate(count: 128, taken: taken, using: &rng)
            #expect(tokens.count == 128, "seed \(seed)")
            #expect(zip(tokens, tokens.dropFirst()).allSatisfy { $0 < $1 }, "seed \(seed)")
            #expect(taken.isDisjoint(with: tokens), "seed \(seed)")
            taken.formUnion(tokens)
        }
    }

    @Test func randomTokensRepeatWithTheSeed() throws {
        var one = SplitMix64(seed: 42)
        var two = SplitMix64(seed: 42)
        let first = try RandomTokenGenerator.generate(count: 64, taken: [], using: &one)
        #expect(try RandomTokenGenerator.generate(count: 64, taken: [], using: &two) == first)
        #expect(try RandomTokenGenerator.generate(count: 64, taken: [], using: &one) != first)
    }

    @Test func takenAndRepeatedDrawsAreRejected() throws {
        var rng = Counting()
        // Draws 0, 1, 2 are taken; the next two free ones are used.
        #expect(try RandomTokenGenerator.generate(count: 2, taken: [0, 1, 2], using: &rng) == [3, 4])
    }

    @Test func badCountsAreErrors() {
        var rng = SplitMix64(seed: 1)
        #expect(throws: TokenGenerationError.badTokenCount(0)) { try RandomTokenGenerator.generate(count: 0, taken: [], using: &rng) }
        #expect(throws: TokenGenerationError.badTokenCount(4097)) {
            try RandomTokenGenerator.generate(count: 4097, taken: [], using: &rng)
        }
    }
}
