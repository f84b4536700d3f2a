import CStorage
import Formats

/// The codecs `bench compression` compares, each as an encode step and a decode
/// step over all samples of a `SeriesSamples` (see `CompressionBench`).
package enum CompressionCodec: String, CaseIterable, Sendable, Codable {
    /// 16 bytes per sample, little-endian Int64 timestamp then the value's
    /// 64 bits, series after series: the baseline of every ratio.
    case raw
    /// Prometheus XOR chunks (Gorilla), cut by the head's rule; counts the chunk
    /// data bytes (count header, bit stream, 2.x zero byte), no segment framing.
    case xor
    /// The XOR chunk bytes back to back, then LZ4 in blocks (`blockSize`).
    case xorLZ4 = "xor-lz4"
    /// The raw layout, then LZ4 in blocks.
    case rawLZ4 = "raw-lz4"
    /// The raw layout, then zlib (deflate, level 6) in blocks.
    case rawZlib = "raw-zlib"

    package static let rawBytesPerSample = 16
}

/// One encode-decode pass of a codec. Made fresh (buffers allocated, zeroed) for
/// every repetition so that `encode` and `decode` time only the codec work.
protocol CodecPass {
    /// Encodes the samples given at creation.
    mutating func encode() throws(CodecError)
    /// Encoded size in bytes, valid after `encode`.
    var encodedBytes: Int { get }
    /// Decodes into the buffers and returns the sample count.
    func decode(into timestamps: UnsafeMutableBufferPointer<Int64>, _ values: UnsafeMutableBufferPointer<UInt64>) throws(CodecError) -> Int
}

/// The `raw` layout: 16 bytes per sample, LE timestamp then LE value bits.
struct RawPass: CodecPass {
    let samples: SeriesSamples
    var bytes: [UInt8]

    init(_ samples: SeriesSamples) {
        self.samples = samples
        bytes = [UInt8](repeating: 0, count: samples.sampleCount * CompressionCodec.rawBytesPerSample)
    }

    var encodedBytes: Int { bytes.count }

    mutating func encode() {
        bytes.withUnsafeMutableBytes { out in
            samples.timestamps.withUnsafeBufferPointer { ts in
                samples.values.withUnsafeBufferPointer { vs in
                    for i in 0..<ts.count {
                        out.storeBytes(of: ts[i].littleEndian, toByteOffset: 16 * i, as: Int64.self)
                        out.storeBytes(of: vs[i].littleEndian, toByteOffset: 16 * i + 8, as: UInt64.self)
                    }
                }
            }
        }
    }

    func decode(into timestamps: UnsafeMutableBufferPointer<Int64>, _ values: UnsafeMutableBufferPointer<UInt64>) -> Int {
        bytes.withUnsafeBytes { Self.unpack($0, into: timestamps, values) }
    }

    static func unpack(
        _ raw: UnsafeRawBufferPointer, into timestamps: UnsafeMutableBufferPointer<Int64>,
        _ values: UnsafeMutableBufferPointer<UInt64>
    ) -> Int {
        let n = min(raw.count / 16, timestamps.count, values.count)
        for i in 0..<n {
            timestamps[i] = Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 16 * i, as: Int64.self))
            values[i] = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 16 * i + 8, as: UInt64.self))
        }
        return n
    }
}

/// A byte string compressed in independent blocks of `blockSize` input bytes,
/// so a reader can decompress any part alone (as a segment reader would). Each
/// block's compressed size is counted plus 4 bytes for a length prefix.
struct BlockedCompression {
    enum Algorithm { case lz4, zlib }
    let algorithm: Algorithm
    let blockSize: Int
    /// Block `k` is stored at `k * stride` (no compaction: nothing is copied).
    private var output: [UInt8]
    private let stride: Int
    private var lengths: [Int]
    private(set) var inputBytes = 0

    init(_ algorithm: Algorithm, blockSize: Int, maxInput: Int) {
        self.algorithm = algorithm
        self.blockSize = blockSize
        stride = algorithm == .lz4 ? LZ4.bound(blockSize) : Zlib.bound(blockSize)
        let blocks = (maxInput + blockSize - 1) / blockSize
        output = [UInt8](repeating: 0, count: max(blocks, 1) * stride)
        lengths = []
        lengths.reserveCapacity(blocks)
    }

    var compressedBytes: Int { lengths.reduce(0, +) + 4 * lengths.count }

    mutating func compress(_ input: UnsafeRawBufferPointer) throws(CodecError) {
        inputBytes = input.count
        let algorithm = self.algorithm, blockSize = self.blockSize, stride = self.stride
        var lengths = self.lengths
        try output.withUnsafeMutableBufferPointer { (out) throws(CodecError) in
            guard let src = input.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
            var k = 0
            for start in Swift.stride(from: 0, to: input.count, by: blockSize) {
                let n = min(blockSize, input.count - start)
                let dst = out.baseAddress! + k * stride
                switch algorithm {
                case .lz4: lengths.append(Int(try CodecError.check(cs_lz4_compress(src + start, n, dst, stride))))
                case .zlib: lengths.append(try Zlib.compress(src + start, count: n, into: dst, capacity: stride))
                }
                k += 1
            }
        }
        self.lengths = lengths
    }

    /// Decompresses every block into `output` (room for `inputBytes`).
    func decompress(into output: UnsafeMutableRawBufferPointer) throws(CodecError) {
        try self.output.withUnsafeBufferPointer { (src) throws(CodecError) in
            let dst = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
            for (k, length) in lengths.enumerated() {
                let start = k * blockSize, n = min(blockSize, inputBytes - start)
                let block = src.baseAddress! + k * stride
                let got: Int
                switch algorithm {
                case .lz4: got = Int(try CodecError.check(cs_lz4_decompress(block, length, dst + start, n)))
                case .zlib: got = try Zlib.decompress(block, count: length, into: dst + start, capacity: n)
                }
                if got != n { throw CodecError(code: CS_E_CORRUPT) }
            }
        }
    }
}

/// `raw-lz4` and `raw-zlib`: the raw layout compressed in blocks.
struct RawCompressedPass: CodecPass {
    var raw: RawPass
    var blocks: BlockedCompression
    /// Where decoding puts the decompressed raw bytes.
    let scratch: UnsafeMutableRawBufferPointer

    init(
        _ samples: SeriesSamples, _ algorithm: BlockedCompression.Algorithm, blockSize: Int,
        scratch: UnsafeMutableRawBufferPointer
    ) {
        raw = RawPass(samples)
        blocks = BlockedCompression(algorithm, blockSize: blockSize, maxInput: raw.bytes.count)
        self.scratch = scratch
    }

    var encodedBytes: Int { blocks.compressedBytes }

    mutating func encode() throws(CodecError) {
        raw.encode()
        var blocks = self.blocks
        try raw.bytes.withUnsafeBufferPointer { (b) throws(CodecError) in try blocks.compress(UnsafeRawBufferPointer(b)) }
        self.blocks = blocks
    }

    func decode(into timestamps: UnsafeMutableBufferPointer<Int64>, _ values: UnsafeMutableBufferPointer<UInt64>) throws(CodecError) -> Int {
        let n = blocks.inputBytes
        try blocks.decompress(into: scratch)
        return RawPass.unpack(UnsafeRawBufferPointer(rebasing: scratch[..<n]), into: timestamps, values)
    }
}

/// `xor`, and `xor-lz4` when `blocks` is set.
struct XORPass: CodecPass {
    let samples: SeriesSamples
    var chunks: XORChunks
    var blocks: BlockedCompression?
    let scratch: UnsafeMutableRawBufferPointer

    init(_ samples: SeriesSamples, lz4BlockSize: Int?, scratch: UnsafeMutableRawBufferPointer) {
        self.samples = samples
        self.scratch = scratch
        let chunks = XORChunks(capacityFor: samples)
        blocks = lz4BlockSize.map { BlockedCompression(.lz4, blockSize: $0, maxInput: chunks.bytes.count) }
        self.chunks = chunks
    }

    var encodedBytes: Int { blocks?.compressedBytes ?? chunks.byteCount }

    mutating func encode() throws(CodecError) {
        try chunks.encode(samples)
        guard var blocks else { return }
        let n = chunks.byteCount
        try chunks.bytes.withUnsafeBufferPointer { (b) throws(CodecError) in
            try blocks.compress(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(b)[..<n]))
        }
        self.blocks = blocks
    }

    func decode(into timestamps: UnsafeMutableBufferPointer<Int64>, _ values: UnsafeMutableBufferPointer<UInt64>) throws(CodecError) -> Int {
        guard let blocks else { return try chunks.decode(into: timestamps, values) }
        try blocks.decompress(into: scratch)
        let bytes = UnsafeBufferPointer(start: scratch.baseAddress!.assumingMemoryBound(to: UInt8.self), count: blocks.inputBytes)
        return try XORChunks.decode(bytes, chunkEnds: chunks.chunkEnds, into: timestamps, values)
    }
}
