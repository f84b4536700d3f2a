#if canImport(Glibc)
import Engine
import Formats
import Glibc
#endif
import CStorage

/// One chunk record as found in a segment file (`docs/format/chunks.md#chunk-segment-file-chunksnnnnnn`), located but
/// not copied: the data stays in the window's buffer until the next read.
struct ChunkRecordView {
    /// Offset of the record's length prefix (the low half of a chunk ref).
    let offset: Int
    let encoding: UInt8
    /// Position of the chunk data in the window's buffer, and its length.
    let dataStart: Int
    let length: Int
    /// Offset just past the record's CRC: where the next record starts.
    let next: Int
    let storedCRC: UInt32
    let computedCRC: UInt32

    var crcMatches: Bool { storedCRC == computedCRC }
}

/// Sequential, buffered, read-only access to one chunk segment file, for the
/// offline tools that walk every chunk of a block in file order.
///
/// Reads go through a window of at least 4 MiB with `pread(2)`, so walking a
/// block costs a few syscalls per window instead of two per chunk; random
/// offsets refill the window. Every read is bounds-checked against the file
/// size: corrupt lengths throw `FormatError`s naming the file and offset. The
/// file is opened `O_RDONLY` and never written. Not thread-safe (one per task).
final class ChunkSegmentWindow {
    let path: String
    let size: Int
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var windowStart = 0
    private var windowCount = 0
    private static let windowSize = 4 << 20

    /// Opens `path` and checks the segment header (magic, version).
    init(path: String) throws {
        self.path = path
        (fd, size) = try Files.openForReading(path)
        guard size >= ChunkSegment.headerSize else {
            throw FormatError(file: path, offset: 0, reason: "file is \(size) bytes, shorter than the \(ChunkSegment.headerSize)-byte header")
        }
        let at = try load(0, ChunkSegment.headerSize)
        let magic = UInt32(buffer[at]) << 24 | UInt32(buffer[at + 1]) << 16 | UInt32(buffer[at + 2]) << 8 | UInt32(buffer[at + 3])
        guard magic == ChunkSegment.magic else {
            throw FormatError(file: path, offset: 0, reason: "bad magic 0x\(String(magic, radix: 16)), want 0x\(String(ChunkSegment.magic, radix: 16))")
        }
        guard buffer[at + 4] == ChunkSegment.version else {
            throw FormatError(file: path, offset: 4, reason: "unsupported chunk segment version \(buffer[at + 4])")
        }
    }

    deinit { close(fd) }

    /// Decodes the record whose length prefix is at `offset`. The CRC is computed
    /// but a mismatch is only reported in the view, so a walk can go on.
    func record(at offset: Int) throws -> ChunkRecordView {
        guard offset >= ChunkSegment.headerSize, offset < size else {
            throw FormatError(file: path, offset: offset, reason: "chunk offset \(offset) is outside the \(size)-byte file")
        }
        var at = try load(offset, min(ChunkSegment.maxLengthBytes + 1, size - offset))
        var length: UInt64 = 0
        let n = buffer.withUnsafeBufferPointer { b in
            Int(cs_get_uvarint(b.baseAddress! + at, b.baseAddress! + min(windowCount, at + ChunkSegment.maxLengthBytes), &length))
        }
        guard n > 0 else {
            throw FormatError(file: path, offset: offset, reason: "chunk length prefix is not a uvarint of at most \(ChunkSegment.maxLengthBytes) bytes")
        }
        let total = n + 1 + Int(length) + 4
        guard length < UInt64(size), offset + total <= size else {
            throw FormatError(file: path, offset: offset,
                              reason: "chunk of \(length) bytes runs past the end of the file (\(size) bytes)")
        }
        at = try load(offset, total)
        let encodingAt = at + n
        let (stored, computed) = buffer.withUnsafeBufferPointer { b in
            (cs_load_be32(b.baseAddress! + encodingAt + 1 + Int(length)), cs_crc32c(0, b.baseAddress! + encodingAt, 1 + Int(length)))
        }
        return ChunkRecordView(offset: offset, encoding: buffer[encodingAt], dataStart: encodingAt + 1, length: Int(length),
                               next: offset + total, storedCRC: stored, computedCRC: computed)
    }

    /// Calls `body` with the data bytes of `view` (valid only during the call;
    /// `view` must come from the latest `record(at:)`).
    func withData<R>(_ view: ChunkRecordView, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try buffer.withUnsafeBufferPointer { b in
            try body(UnsafeBufferPointer(rebasing: b[view.dataStart..<(view.dataStart + view.length)]))
        }
    }

    /// A copy of file bytes [offset, offset + count); throws past the end.
    func bytes(at offset: Int, count: Int) throws -> [UInt8] {
        let at = try load(offset, count)
        return Array(buffer[at..<(at + count)])
    }

    /// Makes file bytes [offset, offset + count) resident and returns where
    /// `offset` sits in `buffer`.
    private func load(_ offset: Int, _ count: Int) throws -> Int {
        if offset >= windowStart, offset + count <= windowStart + windowCount { return offset - windowStart }
        let want = min(max(Self.windowSize, count), size - offset)
        if buffer.count < want { buffer = [UInt8](repeating: 0, count: want) }
        var done = 0
        try buffer.withUnsafeMutableBytes { b in
            while done < want {
                let r = pread(fd, b.baseAddress! + done, want - done, off_t(offset + done))
                if r < 0 {
                    if errno == EINTR { continue }
                    throw SystemError(operation: "pread", path: path, code: errno)
                }
                if r == 0 { break }
                done += r
            }
        }
        windowStart = offset
        windowCount = done
        guard done >= count else {
            throw FormatError(file: path, offset: offset + done, reason: "file ends at \(offset + done), \(count - done) more bytes needed")
        }
        return 0
    }
}

/// Reusable buffers for decoding XOR chunks without allocating per chunk.
struct XORScratch {
    private(set) var timestamps = [Int64](repeating: 0, count: 256)
    private(set) var values = [UInt64](repeating: 0, count: 256)

    /// Decodes `data` (an XOR chunk: BE16 count + bit stream) into `timestamps`
    /// and `values`; returns the sample count.
    mutating func decode(_ data: UnsafeBufferPointer<UInt8>) throws(CodecError) -> Int {
        let count = data.count < 2 ? 0 : Int(data[0]) << 8 | Int(data[1])
        if timestamps.count < count {
            timestamps = [Int64](repeating: 0, count: count)
            values = [UInt64](repeating: 0, count: count)
        }
        let rc = timestamps.withUnsafeMutableBufferPointer { t in
            values.withUnsafeMutableBufferPointer { v in
                cs_xor_decode(data.baseAddress, data.count, t.baseAddress, v.baseAddress, t.count)
            }
        }
        return Int(try CodecError.check(rc))
    }
}
