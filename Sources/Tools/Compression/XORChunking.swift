import CStorage
import Formats

/// Every series of a `SeriesSamples` encoded as Prometheus XOR chunks, the chunk
/// bytes back to back in one buffer (as a block's chunk segment would hold them,
/// minus the record framing).
///
/// Chunks are cut by the head's rule (`cs_head_append`, docs/format/chunks.md#cutting-chunks, the
/// rule of Prometheus 2.42's appender and of `promtool tsdb create-blocks-from`):
/// about 120 samples per chunk, the end time re-estimated at the 30th sample,
/// never across an aligned 2 h boundary, at most 240 samples. A block cut from
/// the same samples therefore holds the same chunks, byte for byte.
package struct XORChunks: Sendable {
    /// Head chunk range: the 2 h block range.
    package static let chunkRange: Int64 = 7_200_000

    /// Chunk bytes; only the first `byteCount` are chunks, the rest is zero slack.
    package private(set) var bytes: [UInt8]
    /// End offset of each chunk in `bytes`.
    package private(set) var chunkEnds: [Int] = []
    /// Sum over chunks of the bits the encoder wrote (`bitpos` minus the 16
    /// header bits), kept to check the bit analysis against the encoder.
    package private(set) var encoderFieldBits = 0

    package var byteCount: Int { chunkEnds.last ?? 0 }
    package var chunkCount: Int { chunkEnds.count }

    /// Zeroed room for `samples` (a worst-case bound: 21 bytes per sample plus
    /// the append margin); allocate once, outside any timed section.
    package init(capacityFor samples: SeriesSamples) {
        bytes = [UInt8](repeating: 0, count: samples.sampleCount * 21 + Int(CS_XOR_APPEND_MARGIN) + 64)
        chunkEnds.reserveCapacity(samples.sampleCount / 60 + samples.seriesCount + 1)
    }

    /// The chunk bytes of chunk `i`.
    package func chunk(_ i: Int) -> ArraySlice<UInt8> {
        bytes[(i == 0 ? 0 : chunkEnds[i - 1])..<chunkEnds[i]]
    }

    /// Encodes every series; the buffer must be fresh from `init(capacityFor:)`.
    /// Throws only if the samples are not strictly increasing per series.
    package mutating func encode(_ samples: SeriesSamples) throws(CodecError) {
        precondition(chunkEnds.isEmpty, "XORChunks.encode needs a fresh buffer")
        let capacity = bytes.count
        var ends = chunkEnds
        var fieldBits = 0
        try bytes.withUnsafeMutableBufferPointer { (out) throws(CodecError) in
            try samples.timestamps.withUnsafeBufferPointer { (ts) throws(CodecError) in
                try samples.values.withUnsafeBufferPointer { (vs) throws(CodecError) in
                    let base = out.baseAddress!
                    var offset = 0
                    var head = cs_head_chunk()
                    func close() {
                        guard head.buf != nil, head.xor.count > 0 else { return }
                        cs_xor_sync_header(&head.xor, head.buf)
                        fieldBits += Int(head.xor.bitpos) - 16
                        offset += cs_xor_len(&head.xor)
                        ends.append(offset)
                    }
                    for s in 0..<samples.seriesCount {
                        head.buf = nil
                        for i in samples.starts[s]..<samples.starts[s + 1] {
                            while true {
                                let rc = cs_head_append(&head, ts[i], vs[i])
                                if rc == CS_HEAD_APPENDED { break }
                                if rc == CS_HEAD_CUT {
                                    close()
                                    _ = cs_head_chunk_start(&head, base + offset, min(512, capacity - offset), ts[i], Self.chunkRange)
                                } else if rc == CS_HEAD_GROW {
                                    // The buffer past the chunk is still zero: widening it is enough.
                                    let room = UInt32(clamping: capacity - offset)
                                    guard head.cap < room else { throw CodecError(code: CS_E_NOSPACE) }
                                    head.cap = min(room, head.cap * 2)
                                } else {
                                    throw CodecError(code: rc)
                                }
                            }
                        }
                        close()
                    }
                }
            }
        }
        chunkEnds = ends
        encoderFieldBits = fieldBits
    }

    /// Decodes chunk after chunk into `timestamps` / `values`; returns the sample
    /// count. Throws on corrupt chunks or when the buffers are too small.
    package func decode(
        into timestamps: UnsafeMutableBufferPointer<Int64>,
        _ values: UnsafeMutableBufferPointer<UInt64>
    ) throws(CodecError) -> Int {
        try Self.decode(bytes, chunkEnds: chunkEnds, into: timestamps, values)
    }

    /// Decodes chunks laid out back to back in `bytes` (ending at `chunkEnds`).
    package static func decode(
        _ bytes: UnsafeBufferPointer<UInt8>, chunkEnds: [Int],
        into timestamps: UnsafeMutableBufferPointer<Int64>,
        _ values: UnsafeMutableBufferPointer<UInt64>
    ) throws(CodecError) -> Int {
        var start = 0
        var n = 0
        let capacity = min(timestamps.count, values.count)
        for end in chunkEnds {
            let rc = cs_xor_decode(
                bytes.baseAddress! + start, end - start,
                timestamps.baseAddress! + n, values.baseAddress! + n, capacity - n)
            n += Int(try CodecError.check(rc))
            start = end
        }
        return n
    }

    package static func decode(
        _ bytes: [UInt8], chunkEnds: [Int],
        into timestamps: UnsafeMutableBufferPointer<Int64>,
        _ values: UnsafeMutableBufferPointer<UInt64>
    ) throws(CodecError) -> Int {
        try bytes.withUnsafeBufferPointer { (b) throws(CodecError) in try decode(b, chunkEnds: chunkEnds, into: timestamps, values) }
    }

    /// The bit breakdown of every chunk (the C pass walks the encoded bits).
    package func bitBreakdown() throws(CodecError) -> XORBitBreakdown {
        var acc = cs_xor_bits()
        try bytes.withUnsafeBufferPointer { (b) throws(CodecError) in
            var start = 0
            for end in chunkEnds {
                try CodecError.check(cs_xor_bits_add(&acc, b.baseAddress! + start, end - start))
                start = end
            }
        }
        var overhead = 0
        var start = 0
        for end in chunkEnds {
            overhead += XORBitBreakdown.recordOverhead(chunkLength: end - start)
            start = end
        }
        return XORBitBreakdown(acc, chunkBytes: byteCount, recordOverheadBytes: overhead)
    }
}
