import CStorage

/// Snappy block format (remote write and remote read bodies) through the
/// cs_snappy C glue over the system libsnappy. Safe to call concurrently.
enum SnappyBlock {
    /// Why a block was refused.
    enum Failure: Error, Equatable, CustomStringConvertible {
        /// The uvarint length prefix is missing or malformed.
        case malformedPrefix
        /// The prefix announces more than a block of this size can expand to.
        case implausible(announced: Int, compressed: Int)
        /// The announced size exceeds the caller's limit.
        case tooLarge(announced: Int, limit: Int)
        /// The elements are malformed or do not produce the announced size.
        case corrupt(announced: Int, compressed: Int)

        var description: String {
            switch self {
            case .malformedPrefix: "malformed length prefix"
            case let .implausible(announced, compressed): "announces \(announced) bytes, more than \(compressed) compressed bytes can hold"
            case let .tooLarge(announced, limit): "decompressed body of \(announced) bytes exceeds the limit of \(limit) bytes"
            case let .corrupt(announced, compressed): "corrupt data (\(compressed) bytes announcing \(announced))"
            }
        }
    }

    /// Compresses `input` into one block.
    static func compress(_ input: [UInt8]) -> [UInt8] {
        input.withUnsafeBufferPointer { src in
            let cap = cs_snappy_bound(src.count)
            precondition(cap > 0, "snappy blocks hold at most 4 GiB")
            var rc: Int64 = 0
            let out = [UInt8](unsafeUninitializedCapacity: cap) { out, initialized in
                rc = cs_snappy_compress(src.baseAddress, src.count, out.baseAddress, cap)
                initialized = rc > 0 ? Int(rc) : 0
            }
            precondition(rc > 0, "snappy compression failed with a worst-case buffer")
            return out
        }
    }

    /// Decompresses one block. Its announced size is checked (plausible for
    /// the block's length, within `maxDecodedBytes`) before anything is
    /// allocated.
    static func decompress(_ input: [UInt8], maxDecodedBytes: Int) throws(Failure) -> [UInt8] {
        try input.withUnsafeBufferPointer { (src) throws(Failure) -> [UInt8] in
            let announced = cs_snappy_announced_length(src.baseAddress, src.count)
            guard announced >= 0 else { throw .malformedPrefix }
            guard cs_snappy_uncompressed_length(src.baseAddress, src.count) == announced else {
                throw .implausible(announced: Int(announced), compressed: src.count)
            }
            let limit = max(maxDecodedBytes, 0)
            guard announced <= limit else { throw .tooLarge(announced: Int(announced), limit: limit) }
            var rc: Int64 = 0
            let plain = [UInt8](unsafeUninitializedCapacity: max(Int(announced), 1)) { out, initialized in
                rc = cs_snappy_decompress(src.baseAddress, src.count, out.baseAddress, Int(announced), limit)
                initialized = rc > 0 ? Int(rc) : 0
            }
            guard rc == announced else { throw .corrupt(announced: Int(announced), compressed: src.count) }
            return plain
        }
    }
}
