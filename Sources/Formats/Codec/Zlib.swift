import CStorage

/// zlib (deflate) through the system libz, the counterpart of `LZ4` for
/// compression comparisons.
package enum Zlib {
    /// Worst-case compressed size of `count` bytes.
    package static func bound(_ count: Int) -> Int { cs_zlib_bound(count) }

    /// Compresses `src[0..<count]` into `dst[0..<capacity]` at `level` (-1 = 6);
    /// returns the compressed length.
    package static func compress(
        _ src: UnsafePointer<UInt8>, count: Int, into dst: UnsafeMutablePointer<UInt8>,
        capacity: Int, level: Int32 = -1
    ) throws(CodecError) -> Int {
        Int(try CodecError.check(cs_zlib_compress(src, count, dst, capacity, level)))
    }

    /// Decompresses `src[0..<count]` into `dst[0..<capacity]`; returns the
    /// decompressed length. Malformed input throws, never reads or writes out of bounds.
    package static func decompress(
        _ src: UnsafePointer<UInt8>, count: Int, into dst: UnsafeMutablePointer<UInt8>,
        capacity: Int
    ) throws(CodecError) -> Int {
        Int(try CodecError.check(cs_zlib_decompress(src, count, dst, capacity)))
    }
}
