import CStorage
import Testing

@testable import Formats

/// The grow-and-retry recipe every C call into a caller-owned buffer uses.
@Suite struct GrowOnNoSpaceTests {
    /// A stand-in for a C function: fails with CS_E_NOSPACE until the buffer holds `need` elements.
    struct Callee {
        var need: Int
        var calls = 0
        mutating func call(_ buffer: [UInt8]) -> Int32 {
            calls += 1
            return buffer.count >= need ? Int32(need) : CS_E_NOSPACE
        }
    }

    @Test func growsOnceToWhatTheCalleeAsksFor() throws {
        var buffer = [UInt8](repeating: 0, count: 4)
        var callee = Callee(need: 100)
        var grown: [Int] = []
        let rc = try growOnNoSpace(
            limit: 1000, needed: { callee.need },
            grow: {
                grown.append($0)
                buffer = [UInt8](repeating: 0, count: $0)
            }
        ) { callee.call(buffer) }
        #expect(rc == 100)
        #expect(grown == [100])
        #expect(callee.calls == 2)
    }

    @Test func aBigEnoughBufferIsCalledOnceAndNeverGrown() throws {
        var callee = Callee(need: 3)
        let rc = try growOnNoSpace(
            limit: 10,
            needed: {
                Issue.record("asked"); return 0
            },
            grow: { _ in Issue.record("grew") }
        ) { callee.call([0, 0, 0, 0]) }
        #expect(rc == 3)
        #expect(callee.calls == 1)
    }

    /// A size announced by the input above what bounds it fails before anything is allocated.
    @Test func aNeedAboveTheLimitThrowsWithoutGrowing() {
        for need in [1001, Int.max, 0, -5] {
            var calls = 0
            #expect(throws: CodecError(code: CS_E_NOSPACE)) {
                try growOnNoSpace(limit: 1000, needed: { need }, grow: { _ in Issue.record("grew to \(need)") }) {
                    () -> Int32 in
                    calls += 1
                    return CS_E_NOSPACE
                }
            }
            #expect(calls == 1)
        }
    }

    /// A callee that still has no room after growing is reported, not retried forever.
    @Test func aSecondNoSpaceIsReturnedForTheCallerToCheck() throws {
        var calls = 0
        let rc = try growOnNoSpace(limit: 10, needed: { 5 }, grow: { _ in }) { () -> Int32 in
            calls += 1
            return CS_E_NOSPACE
        }
        #expect(rc == CS_E_NOSPACE)
        #expect(calls == 2)
    }

    /// The XOR builder grows its buffer by doubling through the recipe, from the smallest start.
    @Test func xorBuilderGrowsFromTheMinimumCapacity() throws {
        var builder = XORChunkBuilder(initialCapacity: 0)
        var samples: [Sample] = []
        for i in 0..<5000 {
            samples.append(
                Sample(
                    timestamp: Int64(i) * 15_000 + Int64(i % 7) * 1_234,
                    value: Double(bitPattern: UInt64(i) &* 0x9E37_79B9_7F4A_7C15)))
            try builder.append(timestamp: samples[i].timestamp, value: samples[i].value)
        }
        #expect(try builder.chunk.samples().map(\.timestamp) == samples.map(\.timestamp))
        #expect(try builder.chunk.samples().map(\.value.bitPattern) == samples.map(\.value.bitPattern))
    }
}
