import CStorage
import Formats

/// Reads records out of WAL segment files: CRC-checked, reassembled from their
/// fragments and decompressed (snappy or LZ4). Stops at the first bad record.
public enum WALReader {
    /// Calls `body` with each record of the segment (uncompressed, type byte first)
    /// and its offset. Returns the offset just past the last good record. Throws
    /// `WALCorruption` naming the start of the first bad record; `body`'s own
    /// `CodecError`s are reported as corruption of that record.
    @discardableResult
    public static func readSegment(
        path: String, segment: Int,
        _ body: (UnsafeRawBufferPointer, Int) throws -> Void
    ) throws -> Int {
        let bytes = try Files.read(path)
        return try readSegment(bytes: bytes, path: path, segment: segment, body)
    }

    @discardableResult
    public static func readSegment(
        bytes: [UInt8], path: String, segment: Int,
        _ body: (UnsafeRawBufferPointer, Int) throws -> Void
    ) throws -> Int {
        var record = [UInt8](repeating: 0, count: 64 * 1024)
        var plain = [UInt8](repeating: 0, count: 64 * 1024)
        return try bytes.withUnsafeBufferPointer { seg -> Int in
            var reader = cs_wal_reader()
            cs_wal_reader_init(&reader, seg.baseAddress, seg.count)
            while true {
                var read = cs_wal_read()
                let rc: Int32
                do {
                    // A record's fragments all lie in this segment.
                    rc = try growOnNoSpace(
                        limit: seg.count, needed: { read.length },
                        grow: {
                            record = [UInt8](repeating: 0, count: $0)
                        }
                    ) { record.withUnsafeMutableBufferPointer { cs_wal_reader_next(&reader, $0.baseAddress, $0.count, &read) } }
                } catch {
                    throw WALCorruption(file: path, segment: segment, offset: read.offset, reason: "\(error)")
                }
                if rc == 0 { return read.offset }
                if rc < 0 {
                    throw WALCorruption(
                        file: path, segment: segment, offset: read.offset,
                        reason: "\(CodecError(code: rc))")
                }
                let offset = read.offset
                do {
                    if read.flags & UInt32(CS_WAL_FLAG_MASK) == 0 {
                        try record.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<read.length]), offset) }
                    } else {
                        let n = try decompress(flags: read.flags, record, read.length, into: &plain)
                        try plain.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<n]), offset) }
                    }
                } catch let error as CodecError {
                    throw WALCorruption(file: path, segment: segment, offset: offset, reason: "record: \(error)")
                }
            }
        }
    }

    /// The most a compressed record may expand (LZ4's limit in cs_wal_frame.c).
    static let maxExpansion = 255

    static func decompress(flags: UInt32, _ src: [UInt8], _ n: Int, into dst: inout [UInt8]) throws(CodecError) -> Int {
        var need = 0
        // The C side already refuses sizes beyond its largest compression ratio
        // (255 for LZ4, more than snappy's); this is the same bound.
        let (limit, overflow) = n.multipliedReportingOverflow(by: maxExpansion)
        let rc = try growOnNoSpace(
            limit: overflow ? Int.max : limit, needed: { need },
            grow: {
                dst = [UInt8](repeating: 0, count: $0)
            }
        ) {
            dst.withUnsafeMutableBufferPointer { d in cs_wal_decompress(UInt32(flags), src, n, d.baseAddress, d.count, &need) }
        }
        return Int(try CodecError.check(rc))
    }
}
