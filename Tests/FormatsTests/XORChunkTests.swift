import Formats
import TestSupport
import Testing

@Suite struct XORChunkRoundTripTests {
    static let specials: [Double] = [
        .nan, Double(bitPattern: Sample.staleNaNBits), Double(bitPattern: 0x7FF8_0000_0000_0001),
        .infinity, -.infinity, 0.0, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude,
        -.greatestFiniteMagnitude, .leastNormalMagnitude, 1, -1, 0.1, 1e300, -1e-300
    ]

    func roundTrip(_ samples: [Sample], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let chunk = try XORChunk(encoding: samples)
        #expect(chunk.count == samples.count, sourceLocation: sourceLocation)
        #expect(try chunk.samples() == samples, sourceLocation: sourceLocation)
        var it = chunk.makeIterator()
        var streamed: [Sample] = []
        while let s = try it.next() { streamed.append(s) }
        #expect(streamed == samples, sourceLocation: sourceLocation)
    }

    @Test(arguments: [1, 2, 3, 120, 240, 1000, 65535])
    func sizes(count: Int) throws {
        var rng = SplitMix64(seed: UInt64(count))
        var t: Int64 = 1_700_000_000_000
        let samples = (0..<count).map { _ -> Sample in
            t += Int64.random(in: 1...30_000, using: &rng)
            return Sample(timestamp: t, value: Double.random(in: -1e6...1e6, using: &rng))
        }
        try roundTrip(samples)
    }

    @Test func specialValuesKeepTheirExactBits() throws {
        let samples = Self.specials.enumerated().map { Sample(timestamp: Int64($0.offset) * 1000, value: $0.element) }
        try roundTrip(samples)
        // The stale marker's payload in particular must survive.
        let decoded = try XORChunk(encoding: samples).samples()
        #expect(decoded[1].value.bitPattern == Sample.staleNaNBits)
    }

    @Test func everyPairOfSpecialValues() throws {
        for a in Self.specials {
            for b in Self.specials {
                try roundTrip([
                    Sample(timestamp: 1, value: a), Sample(timestamp: 2, value: b),
                    Sample(timestamp: 3, value: a), Sample(timestamp: 5, value: b)
                ])
            }
        }
    }

    @Test func constantValues() throws {
        let samples = (0..<500).map { Sample(timestamp: Int64($0) * 15_000, value: 42) }
        try roundTrip(samples)
        // Constant value and constant interval cost two bits per sample.
        #expect(try XORChunk(encoding: samples).bytes.count < 2 + 20 + 500 / 4 + 2)
    }

    @Test func extremeAndNegativeTimestamps() throws {
        try roundTrip([Sample(timestamp: .min, value: 1), Sample(timestamp: .max, value: 2)])
        try roundTrip([
            Sample(timestamp: .min, value: 1), Sample(timestamp: -1, value: 2),
            Sample(timestamp: 0, value: 3), Sample(timestamp: .max, value: 4)
        ])
        try roundTrip([
            Sample(timestamp: -5_000_000, value: 1), Sample(timestamp: -4_000_000, value: 1),
            Sample(timestamp: -3_999_999, value: 1), Sample(timestamp: 9_000_000_000_000, value: 1)
        ])
        try roundTrip((0..<100).map { Sample(timestamp: Int64.max - 100 + Int64($0), value: Double($0)) })
    }

    @Test func randomAdversarialSeries() throws {
        var rng = SplitMix64(seed: 2026)
        for round in 0..<300 {
            let count = Int.random(in: 1...300, using: &rng)
            var t = Int64.random(in: -1_000_000_000_000...2_000_000_000_000, using: &rng)
            var samples: [Sample] = []
            for _ in 0..<count {
                switch UInt8.random(in: 0...5, using: &rng) {
                case 0: t += 1
                case 1: t += Int64.random(in: 1...8192, using: &rng)
                case 2: t += Int64.random(in: 1...600_000, using: &rng)
                case 3: t += Int64.random(in: 1...(1 << 40), using: &rng)
                default: t += 15_000
                }
                let value: Double
                switch UInt8.random(in: 0...4, using: &rng) {
                case 0: value = Self.specials.randomElement(using: &rng)!
                case 1: value = Double(bitPattern: rng.next())
                case 2: value = Double(Int.random(in: 0...1000, using: &rng))
                default: value = samples.last?.value ?? 0
                }
                samples.append(Sample(timestamp: t, value: value))
            }
            try roundTrip(samples)
            _ = round
        }
    }

    @Test func builderRejectsOutOfOrderAndKeepsChunkIntact() throws {
        var b = XORChunkBuilder()
        try b.append(timestamp: 100, value: 1)
        #expect(throws: CodecError(code: -4)) { try b.append(timestamp: 100, value: 2) }
        try b.append(timestamp: 101, value: 2)
        #expect(try b.chunk.samples() == [Sample(timestamp: 100, value: 1), Sample(timestamp: 101, value: 2)])
    }

    @Test func builderIsFullAt65535Samples() throws {
        var b = XORChunkBuilder()
        for i in 0..<65535 { try b.append(timestamp: Int64(i), value: 0) }
        #expect(throws: CodecError.self) { try b.append(timestamp: 70000, value: 0) }
        #expect(b.count == 65535)
    }
}

@Suite struct XORCorruptionTests {
    /// Flipping any single bit or truncating anywhere yields an error or some
    /// other valid decode — never a crash or an out-of-bounds read.
    @Test func everyBitFlipAndTruncation() throws {
        var rng = SplitMix64(seed: 99)
        var t: Int64 = 1_795_301_623_122
        let samples = (0..<130).map { i -> Sample in
            t += Int64(15_000 + Int.random(in: -40...40, using: &rng))
            return Sample(timestamp: t, value: i % 10 == 0 ? .nan : Double(i) * 1.5)
        }
        let good = try XORChunk(encoding: samples).bytes
        var errors = 0
        for bit in 0..<(good.count * 8) {
            var bad = good
            bad[bit / 8] ^= UInt8(0x80) >> UInt8(bit % 8)
            do { _ = try XORChunk(bytes: bad).samples() } catch { errors += 1 }
        }
        #expect(errors > 0)
        for cut in 0..<good.count - 1 {
            #expect(throws: CodecError.self) { try XORChunk(bytes: Array(good[0..<cut])).samples() }
        }
    }
}

@Suite struct LZ4Tests {
    @Test func roundTrip() throws {
        var rng = SplitMix64(seed: 5)
        for size in [0, 1, 15, 4096, 100_000] {
            let input = (0..<size).map { i in i % 3 == 0 ? UInt8.random(in: 0...255, using: &rng) : UInt8(i % 7) }
            let packed = try LZ4.compress(input)
            #expect(try LZ4.decompress(packed, decompressedSize: size) == input)
        }
    }

    @Test func malformedInputThrows() throws {
        let packed = try LZ4.compress(Array(repeating: UInt8(7), count: 1000))
        #expect(throws: CodecError.self) { try LZ4.decompress(Array(packed.dropLast(3)), decompressedSize: 1000) }
        #expect(throws: CodecError.self) { try LZ4.decompress(packed, decompressedSize: 999) }
        #expect(throws: CodecError.self) { try LZ4.decompress([0xFF, 0xFF, 0xFF], decompressedSize: 10) }
    }
}
