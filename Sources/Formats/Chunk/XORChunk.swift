import CStorage

/// Builds a Gorilla/XOR float chunk, byte-identical to what Prometheus 2.x writes
/// for the same samples. A value type: copies are independent.
public struct XORChunkBuilder: Sendable {
    @usableFromInline var state = cs_xor_state()
    /// Zero past `count` bytes, as the C appender requires.
    @usableFromInline var buffer: [UInt8]
    /// Twice the worst case (65535 samples of at most 145 bits, about 1.2 MB):
    /// doubling from any start stays below it.
    @usableFromInline static let maxBufferSize = 4 << 20

    public init(initialCapacity: Int = 128) {
        buffer = [UInt8](repeating: 0, count: max(initialCapacity, Int(CS_XOR_MIN_CAPACITY)))
        buffer.withUnsafeMutableBufferPointer { _ = cs_xor_init(&state, $0.baseAddress, $0.count) }
    }

    /// Samples in the chunk.
    public var count: Int { Int(state.count) }
    /// Encoded size in bytes, header included.
    public var byteCount: Int { withUnsafePointer(to: state) { cs_xor_len($0) } }

    /// Appends a sample. Throws `.outOfOrder` unless `timestamp` is after the last
    /// one, `.full` at 65535 samples.
    @inlinable public mutating func append(timestamp: Int64, value: Double) throws(CodecError) {
        try append(timestamp: timestamp, valueBits: value.bitPattern)
    }

    @inlinable public mutating func append(timestamp: Int64, valueBits: UInt64) throws(CodecError) {
        let rc = try growOnNoSpace(
            limit: Self.maxBufferSize, needed: { buffer.count * 2 },
            grow: {
                buffer.append(contentsOf: repeatElement(0, count: $0 - buffer.count))
            }
        ) {
            buffer.withUnsafeMutableBufferPointer { cs_xor_append(&state, $0.baseAddress, $0.count, timestamp, valueBits) }
        }
        try CodecError.check(rc)
    }

    /// The chunk bytes as Prometheus stores them (BE16 count + bit stream).
    public var bytes: [UInt8] {
        buffer.withUnsafeBufferPointer { XORChunk.copyBytes(state, $0.baseAddress!) }
    }

    public var chunk: XORChunk { XORChunk(unchecked: bytes) }
}

/// Encoded XOR chunk bytes with bounds-checked decoding.
public struct XORChunk: Sendable, Hashable {
    public let bytes: [UInt8]

    /// Wraps bytes read from disk or the network; they are validated as they decode.
    public init(bytes: [UInt8]) { self.bytes = bytes }
    init(unchecked bytes: [UInt8]) { self.bytes = bytes }

    /// Encodes `samples` (timestamps strictly increasing).
    @inlinable public init<S: Sequence>(encoding samples: S) throws(CodecError) where S.Element == Sample {
        var builder = XORChunkBuilder()
        for s in samples { try builder.append(timestamp: s.timestamp, value: s.value) }
        self = builder.chunk
    }

    /// Copies an open chunk's bytes out of its appender buffer, writing the sample
    /// count into the copy's header (the appender leaves it stale; see cs_xor.h).
    package static func copyBytes(_ state: cs_xor_state, _ buffer: UnsafePointer<UInt8>) -> [UInt8] {
        var s = state
        let length = cs_xor_len(&s)
        return [UInt8](unsafeUninitializedCapacity: length) { out, initialized in
            out.baseAddress!.initialize(from: buffer, count: length)
            cs_xor_sync_header(&s, out.baseAddress)
            initialized = length
        }
    }

    /// The sample count in the header (not validated against the data).
    public var count: Int { bytes.count < 2 ? 0 : Int(bytes[0]) << 8 | Int(bytes[1]) }

    /// Decodes every sample; throws `.truncated` or `.corrupt` on bad bytes.
    public func samples() throws(CodecError) -> [Sample] {
        let n = count
        var ts = [Int64](repeating: 0, count: n)
        var vs = [UInt64](repeating: 0, count: n)
        let rc = bytes.withUnsafeBufferPointer { b in
            ts.withUnsafeMutableBufferPointer { t in
                vs.withUnsafeMutableBufferPointer { v in
                    cs_xor_decode(b.baseAddress, b.count, t.baseAddress, v.baseAddress, n)
                }
            }
        }
        try CodecError.check(rc)
        return (0..<Int(rc)).map { Sample(timestamp: ts[$0], valueBits: vs[$0]) }
    }

    /// Decodes into caller-provided buffers without allocating; returns the
    /// sample count. Throws `.noSpace` when the buffers hold fewer than `count`.
    public func decode(
        timestamps: UnsafeMutableBufferPointer<Int64>,
        values: UnsafeMutableBufferPointer<UInt64>
    ) throws(CodecError) -> Int {
        let rc = bytes.withUnsafeBufferPointer { b in
            cs_xor_decode(
                b.baseAddress, b.count, timestamps.baseAddress, values.baseAddress,
                min(timestamps.count, values.count))
        }
        return Int(try CodecError.check(rc))
    }

    public func makeIterator() -> XORSampleIterator { XORSampleIterator(bytes) }
}

/// Streams samples out of chunk bytes one at a time.
public struct XORSampleIterator {
    @usableFromInline let bytes: [UInt8]
    @usableFromInline var state = cs_xor_iter()
    /// Where `state`'s pointers were taken; only compared, never dereferenced.
    @usableFromInline var anchor: UnsafePointer<UInt8>?

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        bytes.withUnsafeBufferPointer { b in
            _ = cs_xor_iter_init(&state, b.baseAddress, b.count)
            anchor = b.baseAddress
        }
    }

    /// The next sample, nil at the end; throws on truncated or corrupt data.
    @inlinable public mutating func next() throws(CodecError) -> Sample? {
        let rc = bytes.withUnsafeBufferPointer { b -> Int32 in
            // The C iterator holds pointers into the array; re-anchor them if the
            // storage moved since they were taken.
            if let base = b.baseAddress, let old = anchor, old != base, let p = state.br.p {
                state.br.p = base + (p - old)
                state.br.end = base + b.count
                anchor = base
            }
            return cs_xor_iter_next(&state)
        }
        if rc == 1 { return Sample(timestamp: state.t, valueBits: state.v) }
        try CodecError.check(rc)
        return nil
    }
}
