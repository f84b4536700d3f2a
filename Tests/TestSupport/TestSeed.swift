import Foundation

/// Seeds for randomized tests: `MUNINN_TEST_SEED=<n>` replays a failed run;
/// otherwise each call draws a fresh one. Tests put the seed in their failure
/// messages so a failure names how to reproduce it.
public enum TestSeed {
    public static func make() -> UInt64 {
        if let text = ProcessInfo.processInfo.environment["MUNINN_TEST_SEED"], let seed = UInt64(text) { return seed }
        return UInt64.random(in: 0 ... .max)
    }
}
