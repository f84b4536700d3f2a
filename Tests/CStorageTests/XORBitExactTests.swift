import CStorage
import TestSupport
import Testing

/// Drives the C XOR codec directly, without the Swift wrappers.
private func encode(_ samples: [(Int64, Double)]) -> [UInt8] {
    var state = cs_xor_state()
    var buf = [UInt8](repeating: 0, count: 64 + samples.count * 20)
    buf.withUnsafeMutableBufferPointer { b in
        #expect(cs_xor_init(&state, b.baseAddress, b.count) == CS_OK)
        for (t, v) in samples {
            #expect(cs_xor_append(&state, b.baseAddress, b.count, t, v.bitPattern) == CS_OK)
        }
        cs_xor_sync_header(&state, b.baseAddress)
    }
    return Array(buf[0..<cs_xor_len(&state)])
}

@Suite struct XORBitExactTests {
    /// docs/format/chunks.md#worked-example, checked there against promtool 2.42.
    @Test func workedExampleFourSamples() {
        let bytes = encode([
            (1_700_000_000_000, 1), (1_700_000_015_000, 1),
            (1_700_000_030_000, 0), (1_700_000_045_500, 1)
        ])
        #expect(bytes == hex("00 04 | 80 a0 ab fe f9 62 | 3f f0 00 00 00 00 00 00 | 98 75 | 31 15 ff c0 fa 5f f8"))
    }

    @Test func workedExampleSingleSampleCarriesTrailingZeroByte() {
        let bytes = encode([(1_700_000_000_000, 3.5)])
        #expect(bytes == hex("00 01 80 a0 ab fe f9 62 40 0c 00 00 00 00 00 00 00"))
        #expect(bytes.count == 17)
    }

    @Test func emptyChunkIsTwoZeroBytes() {
        #expect(encode([]) == [0, 0])
    }

    @Test func appendRejectsNonIncreasingTimestamps() {
        var state = cs_xor_state()
        var buf = [UInt8](repeating: 0, count: 128)
        buf.withUnsafeMutableBufferPointer { b in
            _ = cs_xor_init(&state, b.baseAddress, b.count)
            #expect(cs_xor_append(&state, b.baseAddress, b.count, 10, 0) == CS_OK)
            #expect(cs_xor_append(&state, b.baseAddress, b.count, 10, 0) == CS_E_ORDER)
            #expect(cs_xor_append(&state, b.baseAddress, b.count, 9, 0) == CS_E_ORDER)
        }
        #expect(state.count == 1)
    }

    @Test func appendReportsNoSpaceWithoutWriting() {
        var state = cs_xor_state()
        var buf = [UInt8](repeating: 0, count: Int(CS_XOR_MIN_CAPACITY))
        buf.withUnsafeMutableBufferPointer { b in
            _ = cs_xor_init(&state, b.baseAddress, b.count)
            #expect(cs_xor_append(&state, b.baseAddress, b.count, 1, 0) == CS_OK)
            let before = state.bitpos
            #expect(cs_xor_append(&state, b.baseAddress, b.count, 2, 1) == CS_E_NOSPACE)
            #expect(state.bitpos == before)
            #expect(state.count == 1)
        }
    }

    /// Every delta-of-delta bucket edge, decoded by the C iterator.
    @Test(arguments: [
        Int64(0), 1, -1, 8191, 8192, -8191, -8192, 8193, 65535, 65536, -65535, -65536, 65537,
        524_287, 524_288, -524_287, -524_288, 524_289, 1 << 40, -(1 << 40)
    ])
    func deltaOfDeltaBucketEdges(dod: Int64) {
        let base: Int64 = 1_000_000_000
        let d1: Int64 = 4_000_000_000_000  // larger than every |dod| tested, so time still advances
        let ts = [base, base + d1, base + 2 * d1 + dod, base + 3 * d1 + dod]
        let samples = ts.enumerated().map { ($0.element, Double($0.offset)) }
        let bytes = encode(samples)
        var outT = [Int64](repeating: 0, count: 4)
        var outV = [UInt64](repeating: 0, count: 4)
        let n = cs_xor_decode(bytes, bytes.count, &outT, &outV, 4)
        #expect(n == 4)
        #expect(outT == ts)
    }

    @Test func iteratorNeverReadsPastTruncatedInput() {
        var samples: [(Int64, Double)] = []
        var t: Int64 = 1_700_000_000_000
        for i in 0..<240 {
            t += Int64(15_000 + (i % 7) * 13)
            samples.append((t, Double(i) * 0.37))
        }
        let bytes = encode(samples)
        for cut in 0..<bytes.count {
            // A fresh, exactly sized allocation: ASan flags any read past it.
            let slice = [UInt8](bytes[0..<cut])
            var ts = [Int64](repeating: 0, count: 240)
            var vs = [UInt64](repeating: 0, count: 240)
            let n = cs_xor_decode(slice, slice.count, &ts, &vs, 240)
            // The last byte may only hold padding; everything shorter must fail.
            if cut < bytes.count - 1 { #expect(n < 0, "cut at \(cut) decoded \(n)") }
        }
    }
}
