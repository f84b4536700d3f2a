import CStorage
import Engine
import Formats

#if canImport(Glibc)
    import Glibc
#endif

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
        let count = min(size, ChunkSegment.headerSize)
        let at = try load(0, count)
        try buffer.withUnsafeBufferPointer { (b) throws(FormatError) in
            try ChunkSegment.checkHeader(UnsafeBufferPointer(rebasing: b[at..<(at + count)]), file: path)
        }
    }

    deinit { close(fd) }

    /// Decodes the record whose length prefix is at `offset`. The CRC is computed
    /// but a mismatch is only reported in the view, so a walk can go on.
    func record(at offset: Int) throws -> ChunkRecordView {
        guard offset >= ChunkSegment.headerSize, offset < size else {
            throw FormatError(file: path, offset: offset, reason: "chunk offset \(offset) is outside the \(size)-byte file")
        }
        let prefixCount = min(ChunkSegment.maxLengthBytes, size - offset)
        var at = try load(offset, prefixCount)
        let layout = try buffer.withUnsafeBufferPointer { (b) throws(FormatError) in
            try ChunkSegment.layout(
                prefix: UnsafeBufferPointer(rebasing: b[at..<(at + prefixCount)]), offset: offset,
                fileSize: size, file: path)
        }
        at = try load(offset, layout.size)
        let (encoding, stored, computed) = buffer.withUnsafeBufferPointer { b in
            ChunkSegment.inspect(UnsafeBufferPointer(rebasing: b[at..<(at + layout.size)]), layout)
        }
        return ChunkRecordView(
            offset: offset, encoding: encoding, dataStart: at + layout.dataRange.lowerBound,
            length: layout.length, next: layout.end, storedCRC: stored, computedCRC: computed)
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
