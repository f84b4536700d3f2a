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
        try bytes.withUnsafeBufferPointer { (buf) throws(FormatError) in
            try checkHeader(buf, file: file)
            var records: [ChunkRecord] = []
            var offset = headerSize
            while offset < buf.count {
                let layout = try self.layout(
                    prefix: UnsafeBufferPointer(rebasing: buf[offset...]), offset: offset,
                    fileSize: buf.count, file: file)
                let record = UnsafeBufferPointer(rebasing: buf[offset..<layout.end])
                let encoding = try validate(record, layout, file: file)
                records.append(
                    ChunkRecord(
                        ref: UInt64(segmentIndex) << 32 | UInt64(offset), encoding: encoding,
                        data: Array(record[layout.dataRange])))
                offset = layout.end
            }
            return records
        }
    }

    /// Checks the segment header. `start` holds the file's first bytes: all of
    /// them when the file is shorter than the header.
    package static func checkHeader(_ start: UnsafeBufferPointer<UInt8>, file: String) throws(FormatError) {
        guard start.count >= headerSize else {
            throw FormatError(
                file: file, offset: 0,
                reason: "file is \(start.count) bytes, shorter than the \(headerSize)-byte header")
        }
        let found = UInt32(start[0]) << 24 | UInt32(start[1]) << 16 | UInt32(start[2]) << 8 | UInt32(start[3])
        guard found == magic else {
            throw FormatError(
                file: file, offset: 0,
                reason: "bad magic 0x\(String(found, radix: 16)), want 0x\(String(magic, radix: 16))")
        }
        guard start[4] == version else {
            throw FormatError(file: file, offset: 4, reason: "unsupported chunk segment version \(start[4])")
        }
    }

    /// Decodes the length prefix of the record at `offset` in a file of
    /// `fileSize` bytes and checks that the whole record lies inside the file.
    /// `prefix` holds the file's bytes from `offset`: at least
    /// `min(maxLengthBytes, fileSize - offset)` of them (more are ignored).
    package static func layout(
        prefix: UnsafeBufferPointer<UInt8>, offset: Int, fileSize: Int,
        file: String
    ) throws(FormatError) -> ChunkRecordLayout {
        guard offset >= headerSize, offset < fileSize else {
            throw FormatError(file: file, offset: offset, reason: "chunk offset \(offset) is outside the \(fileSize)-byte file")
        }
        var length: UInt64 = 0
        let available = min(prefix.count, maxLengthBytes)
        let n =
            available == 0
            ? Int(CS_E_SHORT)
            : Int(cs_get_uvarint(prefix.baseAddress!, prefix.baseAddress! + available, &length))
        guard n > 0 else {
            throw FormatError(
                file: file, offset: offset,
                reason: "chunk length prefix is not a uvarint of at most \(maxLengthBytes) bytes")
        }
        // length < 2^35 (five uvarint bytes), so the sum cannot overflow.
        guard length <= UInt64(fileSize), offset + n + 1 + Int(length) + 4 <= fileSize else {
            throw FormatError(
                file: file, offset: offset,
                reason: "chunk of \(length) bytes runs past the end of the file (\(fileSize) bytes)")
        }
        return ChunkRecordLayout(offset: offset, prefixSize: n, length: Int(length))
    }

    /// The encoding byte and the stored and computed CRC32C of a record;
    /// `record` holds its `layout.size` bytes, length prefix first.
    package static func inspect(
        _ record: UnsafeBufferPointer<UInt8>,
        _ layout: ChunkRecordLayout
    ) -> (encoding: UInt8, storedCRC: UInt32, computedCRC: UInt32) {
        precondition(record.count >= layout.size, "record buffer shorter than its layout")
        let base = record.baseAddress!
        return (
            record[layout.prefixSize], cs_load_be32(base + layout.dataRange.upperBound),
            cs_crc32c(0, base + layout.prefixSize, 1 + layout.length)
        )
    }

    /// Checks a record's encoding and CRC (as `inspect`) and returns the encoding.
    package static func validate(
        _ record: UnsafeBufferPointer<UInt8>, _ layout: ChunkRecordLayout,
        file: String
    ) throws(FormatError) -> UInt8 {
        let (encoding, stored, computed) = inspect(record, layout)
        guard ChunkEncoding(rawValue: encoding) != nil else {
            throw FormatError(file: file, offset: layout.offset, reason: "unknown chunk encoding \(encoding)")
        }
        guard stored == computed else {
            throw FormatError(file: file, offset: layout.offset, reason: crcMismatch(stored: stored, computed: computed))
        }
        return encoding
    }

    /// The message for a record whose CRC does not match.
    package static func crcMismatch(stored: UInt32, computed: UInt32) -> String {
        String(format: "chunk CRC32C 0x%08x, computed 0x%08x", stored, computed)
    }
}

/// Where the parts of one chunk record lie, decoded from its length prefix.
/// Positions inside the record count from its first byte (the length prefix).
package struct ChunkRecordLayout: Sendable, Equatable {
    /// File offset of the length prefix (the low half of a chunk ref).
    package let offset: Int
    package let prefixSize: Int
    /// Chunk data bytes (the encoding byte and the CRC not counted).
    package let length: Int

    /// The whole record: prefix, encoding byte, data, CRC.
    package var size: Int { prefixSize + 1 + length + 4 }
    /// File offset just past the CRC, where the next record starts.
    package var end: Int { offset + size }
    /// The chunk data, relative to the record's start.
    package var dataRange: Range<Int> { (prefixSize + 1)..<(prefixSize + 1 + length) }
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
        bytes.append(contentsOf: [
            UInt8(crc >> 24), UInt8(truncatingIfNeeded: crc >> 16),
            UInt8(truncatingIfNeeded: crc >> 8), UInt8(truncatingIfNeeded: crc)
        ])
        return ref
    }
}
