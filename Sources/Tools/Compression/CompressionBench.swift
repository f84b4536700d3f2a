import Dispatch
import Formats

#if canImport(Glibc)
    import Glibc
#endif

/// Figures of one codec over all input samples.
package struct CodecResult: Sendable, Equatable, Codable {
    package let codec: String
    package let bytes: Int
    package let bytesPerSample: Double
    /// Raw bytes (16 per sample) over `bytes`.
    package let ratioToRaw: Double
    /// Best of the repetitions; MB/s are of raw bytes (16 per sample), 10^6 bytes.
    package let encodeNsPerSample: Double
    package let encodeMBPerSecond: Double
    package let decodeNsPerSample: Double
    package let decodeMBPerSecond: Double
    /// Always true in a report: a decode that differs in any timestamp or value
    /// bit fails the benchmark instead.
    package let roundTrip: Bool
}

/// The whole result of `bench compression`, JSON-encodable with stable keys.
package struct CompressionReport: Sendable, Codable {
    package let input: String
    package let inputKind: String
    package let series: Int
    package let samples: Int
    package let duplicatesDropped: Int
    package let repetitions: Int
    package let blockSize: Int
    package let codecs: [CodecResult]
    /// The bit breakdown when an XOR codec ran.
    package let xor: XORBitBreakdown?
}

/// A benchmark failure: a codec error, or a decode that did not reproduce the input.
package struct CompressionBenchError: Error, CustomStringConvertible {
    package let description: String
}

/// Runs each codec over every sample: encode, decode, compare bit for bit.
package enum CompressionBench {
    package struct Options: Sendable {
        /// Timed repetitions per codec; the best (fastest) is reported.
        package var repetitions = 3
        /// Input bytes per independently compressed LZ4/zlib block.
        package var blockSize = 64 << 10

        package init(repetitions: Int = 3, blockSize: Int = 64 << 10) {
            self.repetitions = repetitions
            self.blockSize = blockSize
        }
    }

    /// Measures `codecs` in the given order. `progress` hears each codec's name
    /// before it runs.
    package static func run(
        _ input: CompressionInput, codecs: [CompressionCodec], options: Options = Options(),
        progress: ((CompressionCodec) -> Void)? = nil
    ) throws(CompressionBenchError) -> CompressionReport {
        let samples = input.samples
        let n = samples.sampleCount
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: max(n * 21 + 1024, 16 * n), alignment: 16)
        defer { scratch.deallocate() }
        var decodedT = [Int64](repeating: 0, count: n)
        var decodedV = [UInt64](repeating: 0, count: n)
        var results: [CodecResult] = []
        var breakdown: XORBitBreakdown?
        for codec in codecs {
            progress?(codec)
            func fresh() -> any CodecPass {
                switch codec {
                case .raw: return RawPass(samples)
                case .xor: return XORPass(samples, lz4BlockSize: nil, scratch: scratch)
                case .xorLZ4: return XORPass(samples, lz4BlockSize: options.blockSize, scratch: scratch)
                case .rawLZ4: return RawCompressedPass(samples, .lz4, blockSize: options.blockSize, scratch: scratch)
                case .rawZlib: return RawCompressedPass(samples, .zlib, blockSize: options.blockSize, scratch: scratch)
                }
            }
            var bestEncode = UInt64.max, bestDecode = UInt64.max
            var bytes = 0
            var last: (any CodecPass)?
            do {
                for _ in 0..<max(options.repetitions, 1) {
                    var pass = fresh()
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    try pass.encode()
                    let t1 = DispatchTime.now().uptimeNanoseconds
                    bytes = pass.encodedBytes
                    // Dirty the output so a decode that skips samples cannot pass.
                    decodedT.withUnsafeMutableBytes { _ = memset($0.baseAddress!, 0xA5, $0.count) }
                    let count = try decodedT.withUnsafeMutableBufferPointer { (t) throws(CodecError) in
                        try decodedV.withUnsafeMutableBufferPointer { (v) throws(CodecError) in try pass.decode(into: t, v) }
                    }
                    let t2 = DispatchTime.now().uptimeNanoseconds
                    try verify(codec, count: count, samples, decodedT, decodedV)
                    bestEncode = min(bestEncode, t1 - t0)
                    bestDecode = min(bestDecode, t2 - t1)
                    last = pass
                }
            } catch let error as CodecError {
                throw CompressionBenchError(description: "\(codec.rawValue): \(error)")
            } catch let error as CompressionBenchError {
                throw error
            } catch {
                throw CompressionBenchError(description: "\(codec.rawValue): \(error)")
            }
            if breakdown == nil, let xor = last as? XORPass {
                do { breakdown = try xor.chunks.bitBreakdown() } catch {
                    throw CompressionBenchError(description: "xor bit analysis: \(error)")
                }
            }
            let rawBytes = Double(n * CompressionCodec.rawBytesPerSample)
            results.append(
                CodecResult(
                    codec: codec.rawValue, bytes: bytes, bytesPerSample: Double(bytes) / Double(max(n, 1)),
                    ratioToRaw: rawBytes / Double(max(bytes, 1)),
                    encodeNsPerSample: Double(bestEncode) / Double(max(n, 1)), encodeMBPerSecond: rawBytes / Double(max(bestEncode, 1)) * 1000,
                    decodeNsPerSample: Double(bestDecode) / Double(max(n, 1)), decodeMBPerSecond: rawBytes / Double(max(bestDecode, 1)) * 1000,
                    roundTrip: true))
        }
        return CompressionReport(
            input: input.path, inputKind: input.kind, series: samples.seriesCount, samples: n,
            duplicatesDropped: samples.duplicatesDropped, repetitions: max(options.repetitions, 1),
            blockSize: options.blockSize, codecs: results, xor: breakdown)
    }

    /// Compares decoded samples with the input bit for bit; names the first
    /// difference (series and sample index).
    static func verify(
        _ codec: CompressionCodec, count: Int, _ samples: SeriesSamples,
        _ ts: [Int64], _ vs: [UInt64]
    ) throws(CompressionBenchError) {
        guard count == samples.sampleCount else {
            throw CompressionBenchError(description: "\(codec.rawValue): decoded \(count) samples, encoded \(samples.sampleCount)")
        }
        if count == 0 { return }
        let same =
            ts.withUnsafeBytes { a in samples.timestamps.withUnsafeBytes { b in memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0 } }
            && vs.withUnsafeBytes { a in samples.values.withUnsafeBytes { b in memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0 } }
        if same { return }
        let i = (0..<count).first { ts[$0] != samples.timestamps[$0] || vs[$0] != samples.values[$0] }!
        let series = samples.starts.lastIndex { $0 <= i }!
        throw CompressionBenchError(
            description: String(
                format: "%@: round trip differs at sample %d of series %@: decoded (%lld, 0x%016llx), input (%lld, 0x%016llx)",
                codec.rawValue, i - samples.starts[series], samples.names[series], ts[i], vs[i], samples.timestamps[i], samples.values[i]))
    }
}
