import CStorage

/// LZ4 block compression through the system liblz4.
public enum LZ4 {
    /// Worst-case compressed size of `count` bytes.
    public static func bound(_ count: Int) -> Int { cs_lz4_bound(count) }

    /// Compresses `input` into a new array.
    public static func compress(_ input: UnsafeRawBufferPointer) throws(CodecError) -> [UInt8] {
        let cap = bound(input.count)
        if cap == 0 && input.count > 0 { throw CodecError(code: CS_E_ARG) }
        var result = [UInt8]()
        var rc: Int64 = 0
        result = [UInt8](unsafeUninitializedCapacity: max(cap, 1)) { out, initialized in
            rc = cs_lz4_compress(
                input.baseAddress?.assumingMemoryBound(to: UInt8.self), input.count,
                out.baseAddress, out.count)
            initialized = rc > 0 ? Int(rc) : 0
        }
        try CodecError.check(rc)
        return result
    }

    public static func compress(_ input: [UInt8]) throws(CodecError) -> [UInt8] {
        try input.withUnsafeBufferPointer { (b) throws(CodecError) in try compress(UnsafeRawBufferPointer(b)) }
    }

    /// Decompresses `input`, which must expand to exactly `decompressedSize` bytes.
    /// Malformed input throws; it never reads or writes out of bounds.
    public static func decompress(_ input: UnsafeRawBufferPointer, decompressedSize: Int) throws(CodecError) -> [UInt8] {
        var rc: Int64 = 0
        let result = [UInt8](unsafeUninitializedCapacity: max(decompressedSize, 1)) { out, initialized in
            rc = cs_lz4_decompress(
                input.baseAddress?.assumingMemoryBound(to: UInt8.self), input.count,
                out.baseAddress, decompressedSize)
            initialized = rc > 0 ? Int(rc) : 0
        }
        try CodecError.check(rc)
        if rc != decompressedSize { throw CodecError(code: CS_E_CORRUPT) }
        return result
    }

    public static func decompress(_ input: [UInt8], decompressedSize: Int) throws(CodecError) -> [UInt8] {
        try input.withUnsafeBufferPointer { (b) throws(CodecError) in try decompress(UnsafeRawBufferPointer(b), decompressedSize: decompressedSize) }
    }
}
