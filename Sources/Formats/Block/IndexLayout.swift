import CStorage

/// Where a chunk lives in a block: `(segmentIndex << 32) | byteOffset`, with the
/// 0-based position of its `chunks/NNNNNN` file and the offset of its record's
/// length prefix (`docs/format/chunks.md#chunk-segment-file-chunksnnnnnn`).
package struct BlockChunkRef: RawRepresentable, Sendable, Hashable, Comparable, CustomStringConvertible {
    package let rawValue: UInt64

    package init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Nil when either part needs more than 32 bits.
    package init?(segment: Int, offset: Int) {
        guard (0...Int(UInt32.max)).contains(segment), (0...Int(UInt32.max)).contains(offset) else { return nil }
        rawValue = UInt64(segment) << 32 | UInt64(offset)
    }

    package var segment: Int { Int(rawValue >> 32) }
    package var offset: Int { Int(rawValue & 0xFFFF_FFFF) }

    package static func < (a: BlockChunkRef, b: BlockChunkRef) -> Bool { a.rawValue < b.rawValue }
    package var description: String { "\(segment):\(offset)" }
}

/// A chunk as the index describes it: its reference and the timestamps of its
/// first and last sample (both inclusive).
package struct BlockChunkMeta: Sendable, Hashable {
    package var ref: BlockChunkRef
    package var minTime: Int64
    package var maxTime: Int64

    package init(ref: BlockChunkRef, minTime: Int64, maxTime: Int64) {
        self.ref = ref
        self.minTime = minTime
        self.maxTime = maxTime
    }
}

/// A string that hashes and compares by its UTF-8 bytes. Swift's `String`
/// equality is Unicode canonical equivalence, which would merge label values
/// that Prometheus (byte strings) keeps apart.
package struct ByteString: Hashable {
    package let string: String

    @inlinable package init(string: String) { self.string = string }

    @inlinable package static func == (a: ByteString, b: ByteString) -> Bool { a.string.utf8.elementsEqual(b.string.utf8) }

    @inlinable package func hash(into hasher: inout Hasher) {
        var s = string
        s.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }

    @inlinable package static func precedes(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }
}

/// Big-endian and varint encoding into a growing byte array (Prometheus's `encbuf`).
package struct EncodeBuffer {
    package var bytes: [UInt8] = []

    @inlinable package init() {}

    @inlinable package mutating func be32(_ v: UInt32) {
        bytes.append(contentsOf: [
            UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16),
            UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)
        ])
    }

    @inlinable package mutating func be64(_ v: UInt64) {
        be32(UInt32(v >> 32))
        be32(UInt32(truncatingIfNeeded: v))
    }

    @inlinable package mutating func uvarint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    @inlinable package mutating func uvarint(_ v: Int) { uvarint(UInt64(v)) }

    /// Zig-zag, as Go's `binary.PutVarint`.
    @inlinable package mutating func varint(_ v: Int64) { uvarint(UInt64(bitPattern: v << 1 ^ v >> 63)) }

    /// uvarint byte length, then the UTF-8 bytes.
    @inlinable package mutating func string(_ s: String) {
        uvarint(s.utf8.count)
        bytes.append(contentsOf: s.utf8)
    }

    /// CRC32C of `bytes[from...]`, appended as BE32.
    @inlinable package mutating func appendCRC(from start: Int) {
        let crc = bytes.withUnsafeBufferPointer { cs_crc32c(0, $0.baseAddress! + start, $0.count - start) }
        be32(crc)
    }
}

/// The constants of a Prometheus index v2 file (`IndexWriter` writes it,
/// `IndexReader` reads it).
package enum IndexLayout {
    package static let magic: UInt32 = 0xBAAA_D700
    package static let version: UInt8 = 2
    package static let tocSize = 52
}
