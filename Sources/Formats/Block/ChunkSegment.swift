import CStorage
import Foundation

/// One chunk inside a block's `chunks/NNNNNN` segment file.
package struct ChunkRecord: Sendable, Equatable {
    /// `(segmentIndex << 32) | byteOffset`, the reference the index stores.
    package let ref: UInt64
    package let encoding: UInt8
    /// Chunk bytes (for XOR: BE16 count + bit stream).
    package let data: [UInt8]

    package init(ref: UInt64, encoding: UInt8, data: [UInt8]) {
        self.ref = ref
        self.encoding = encoding
        self.data = data
    }
}

/// The block chunk segment format (`docs/format/chunks.md#chunk-segment-file-chunksnnnnnn`):
/// ```
/// magic 0x85BD40DD (BE32) | version 1 | 3 zero bytes
/// record* = uvarint len | encoding byte | data[len] | BE32 CRC32C(encoding ‖ data)
/// ```
package enum ChunkSegment {
    package static let magic: UInt32 = 0x85BD_40DD
    package static let version: UInt8 = 1
    package static let headerSize = 8
    /// Readers reject longer length prefixes (Prometheus does the same).
    package static let maxLengthBytes = 5

    /// Parses every record of a segment's bytes. `segmentIndex` is the file's
    /// 0-based position among the block's segment files. Errors name `file` and
    /// the offset of the bad record.
    package static func records(in bytes: [UInt8], segmentIndex: Int, file: String) throws(FormatError) -> [ChunkRecord] {
        func fail(_ offset: Int, _ reason: String) -> FormatError {
            FormatError(file: file, offset: offset, reason: reason)
        }
        guard bytes.count >= headerSize else {
            throw fail(0, "file is \(bytes.count) bytes, shorter than the \(headerSize)-byte header")
        }
        let found = UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])
        guard found == magic else {
            throw fail(0, "bad magic 0x\(String(found, radix: 16)), want 0x\(String(magic, radix: 16))")
        }
        guard bytes[4] == version else { throw fail(4, "unsupported version \(bytes[4])") }

        var records: [ChunkRecord] = []
        var offset = headerSize
        try bytes.withUnsafeBufferPointer { (buf) throws(FormatError) in
            let base = buf.baseAddress!
            let end = base + buf.count
            while offset < buf.count {
                var length: UInt64 = 0
                let n = Int(cs_get_uvarint(base + offset, end, &length))
                guard n > 0 else { throw fail(offset, "chunk length: \(CodecError(code: Int32(n)))") }
                guard n <= maxLengthBytes else { throw fail(offset, "chunk length prefix of \(n) bytes") }
                let encodingAt = offset + n
                guard length <= UInt64(buf.count), encodingAt + 1 + Int(length) + 4 <= buf.count else {
                    throw fail(offset, "chunk of \(length) bytes runs past the end of the file (\(buf.count) bytes)")
                }
                let encoding = buf[encodingAt]
                guard ChunkEncoding(rawValue: encoding) != nil else {
                    throw fail(offset, "unknown chunk encoding \(encoding)")
                }
                let dataEnd = encodingAt + 1 + Int(length)
                let stored = cs_load_be32(base + dataEnd)
                let computed = cs_crc32c(0, base + encodingAt, 1 + Int(length))
                guard stored == computed else {
                    throw fail(offset, String(format: "chunk CRC32C 0x%08x, computed 0x%08x", stored, computed))
                }
                records.append(ChunkRecord(
                    ref: UInt64(segmentIndex) << 32 | UInt64(offset),
                    encoding: encoding,
                    data: Array(buf[(encodingAt + 1)..<dataEnd])))
                offset = dataEnd + 4
            }
        }
        return records
    }
}

/// Builds one chunk segment file in memory.
package struct ChunkSegmentBuilder: Sendable {
    package private(set) var bytes: [UInt8]
    package let segmentIndex: Int

    package init(segmentIndex: Int = 0) {
        self.segmentIndex = segmentIndex
        bytes = [0x85, 0xBD, 0x40, 0xDD, ChunkSegment.version, 0, 0, 0]
    }

    /// Appends a chunk and returns its reference.
    @discardableResult
    package mutating func append(encoding: ChunkEncoding, data: [UInt8]) -> UInt64 {
        let ref = UInt64(segmentIndex) << 32 | UInt64(bytes.count)
        var prefix = [UInt8](repeating: 0, count: Int(CS_UVARINT_MAX))
        let n = prefix.withUnsafeMutableBufferPointer { cs_put_uvarint($0.baseAddress, UInt64(data.count)) }
        bytes.append(contentsOf: prefix[0..<n])
        let crcStart = bytes.count
        bytes.append(encoding.rawValue)
        bytes.append(contentsOf: data)
        let crc = bytes.withUnsafeBufferPointer { cs_crc32c(0, $0.baseAddress! + crcStart, $0.count - crcStart) }
        bytes.append(contentsOf: [UInt8(crc >> 24), UInt8(truncatingIfNeeded: crc >> 16),
                                  UInt8(truncatingIfNeeded: crc >> 8), UInt8(truncatingIfNeeded: crc)])
        return ref
    }
}
