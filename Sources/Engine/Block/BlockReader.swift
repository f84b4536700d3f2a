import Formats
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One deleted interval of a series, from a block's `tombstones` file (`docs/format/blocks.md#tombstones`).
package struct Tombstone: Sendable, Equatable {
    /// The series ID in the block's index.
    package let seriesID: UInt64
    package let minTime: Int64
    package let maxTime: Int64

    package init(seriesID: UInt64, minTime: Int64, maxTime: Int64) {
        self.seriesID = seriesID
        self.minTime = minTime
        self.maxTime = maxTime
    }
}

/// An open block directory, written by `BlockWriter` or by Prometheus/promtool.
///
/// Opening reads `meta.json`, the whole `index` (see `IndexReader`) and
/// `tombstones` (a missing file means none), and opens every chunk segment,
/// checking its header. Chunks are then read on demand with `pread(2)` and
/// CRC-checked on every read, so memory stays small however large the segments
/// are. Series, postings, label names and values come from `index`.
///
/// Errors from corrupt files are `FormatError`s naming the file and offset;
/// nothing in a block can make the reader trap. Immutable after opening and safe
/// to use from many tasks at once; file descriptors close when it is released.
package final class BlockReader: Sendable {
    package let directory: String
    package let meta: BlockMeta
    package let index: IndexReader
    package let tombstones: [Tombstone]
    private let segments: [SegmentFile]

    private struct SegmentFile: Sendable {
        let path: String
        let fd: Int32
        let size: Int
    }

    package static let tombstonesMagic: UInt32 = 0x0130_BA30

    package init(directory: String) throws {
        self.directory = directory
        meta = try BlockMeta.read(directory: directory)
        index = try IndexReader(path: directory + "/index")
        tombstones = try Self.readTombstones(directory + "/tombstones")
        segments = try Self.openSegments(directory + "/chunks")
    }

    deinit {
        for segment in segments { close(segment.fd) }
    }

    /// Paths of the chunk segment files, in reference order.
    package var segmentPaths: [String] { segments.map(\.path) }

    /// Every series in label order, with chunk metadata (the index's all-series list).
    package func series() throws(FormatError) -> [IndexSeries] {
        try index.allSeries()
    }

    // MARK: Chunks

    /// Reads and CRC-checks the chunk record `ref` points at.
    package func chunk(_ ref: BlockChunkRef) throws -> ChunkRecord {
        guard ref.segment < segments.count else {
            throw FormatError(
                file: directory + "/chunks", offset: ref.offset,
                reason: "chunk ref \(ref) names segment \(ref.segment), the block has \(segments.count)")
        }
        let segment = segments[ref.segment]
        let offset = ref.offset
        guard offset >= ChunkSegment.headerSize, offset < segment.size else {
            throw FormatError(
                file: segment.path, offset: offset,
                reason: "chunk ref \(ref) is outside the \(segment.size)-byte file")
        }
        let head = try Self.read(segment, at: offset, count: min(ChunkSegment.maxLengthBytes, segment.size - offset))
        let layout = try head.withUnsafeBufferPointer { (b) throws(FormatError) in
            try ChunkSegment.layout(prefix: b, offset: offset, fileSize: segment.size, file: segment.path)
        }
        let record = try Self.read(segment, at: offset, count: layout.size)
        let encoding = try record.withUnsafeBufferPointer { (b) throws(FormatError) in
            try ChunkSegment.validate(b, layout, file: segment.path)
        }
        return ChunkRecord(ref: ref.rawValue, encoding: encoding, data: Array(record[layout.dataRange]))
    }

    /// The samples of one XOR chunk.
    package func samples(of chunk: BlockChunkMeta) throws -> [Sample] {
        let record = try self.chunk(chunk.ref)
        let path = segments[chunk.ref.segment].path
        guard record.encoding == ChunkEncoding.xor.rawValue else {
            throw FormatError(file: path, offset: chunk.ref.offset, reason: "chunk encoding \(record.encoding) is not XOR")
        }
        do {
            return try XORChunk(bytes: record.data).samples()
        } catch {
            throw FormatError(file: path, offset: chunk.ref.offset, reason: "XOR chunk data: \(error)")
        }
    }

    /// All samples of a series, chunk after chunk.
    package func samples(of series: IndexSeries) throws -> [Sample] {
        var samples: [Sample] = []
        for chunk in series.chunks { samples += try self.samples(of: chunk) }
        return samples
    }

    // MARK: Full check

    /// Checks the whole block: `IndexReader.verify()`, every chunk of every series
    /// (CRC, XOR decoding, samples inside the chunk's and the block's time range),
    /// and that `meta.json`'s stats match what is stored.
    package func verify() throws {
        try index.verify()
        var stats = BlockMeta.Stats()
        for series in try index.allSeries() {
            stats.numSeries += 1
            for chunk in series.chunks {
                let samples = try samples(of: chunk)
                let path = segments[chunk.ref.segment].path
                guard let first = samples.first, let last = samples.last else {
                    throw FormatError(file: path, offset: chunk.ref.offset, reason: "chunk has no samples")
                }
                guard first.timestamp >= chunk.minTime, last.timestamp <= chunk.maxTime,
                    chunk.minTime >= meta.minTime, chunk.maxTime < meta.maxTime
                else {
                    throw FormatError(
                        file: path, offset: chunk.ref.offset,
                        reason:
                            "samples [\(first.timestamp), \(last.timestamp)] outside the chunk's [\(chunk.minTime), \(chunk.maxTime)] or the block's [\(meta.minTime), \(meta.maxTime))"
                    )
                }
                stats.numChunks += 1
                stats.numSamples += UInt64(samples.count)
            }
        }
        stats.numTombstones = meta.stats.numTombstones
        guard stats == meta.stats else {
            throw FormatError(
                file: directory + "/" + BlockMeta.fileName, offset: 0,
                reason: "stats \(meta.stats) disagree with the block's contents \(stats)")
        }
    }

    // MARK: Opening

    /// Names in the chunks directory `directory` that parse as integers, in name
    /// order: the segment files, in reference order (as Prometheus lists them).
    package static func segmentNames(in directory: String) throws -> [String] {
        try Files.list(directory).filter { name in
            !name.isEmpty && name.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") } && UInt64(name) != nil
        }.sorted(by: ByteString.precedes)
    }

    /// Segment files are the names in `chunks/` that parse as integers, in name
    /// order (as Prometheus lists them).
    private static func openSegments(_ directory: String) throws -> [SegmentFile] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw FormatError(file: directory, offset: 0, reason: "missing chunks directory")
        }
        let names = try segmentNames(in: directory)
        var segments: [SegmentFile] = []
        do {
            for name in names {
                let path = directory + "/" + name
                let (fd, size) = try Files.openForReading(path)
                let segment = SegmentFile(path: path, fd: fd, size: size)
                segments.append(segment)
                let header = try read(segment, at: 0, count: min(segment.size, ChunkSegment.headerSize))
                try header.withUnsafeBufferPointer { (b) throws(FormatError) in try ChunkSegment.checkHeader(b, file: path) }
            }
        } catch {
            for segment in segments { close(segment.fd) }
            throw error
        }
        return segments
    }

    /// `magic BE32 | version 1 | stones… | CRC32C(stones)`; a missing file is empty.
    package static func readTombstones(_ path: String) throws -> [Tombstone] {
        guard Files.exists(path) else { return [] }
        let bytes = try Files.read(path)
        guard bytes.count >= 9 else {
            throw FormatError(file: path, offset: 0, reason: "file is \(bytes.count) bytes, shorter than the 9-byte minimum")
        }
        var d = IndexDecoder(bytes: bytes, file: path, position: 0, end: bytes.count - 4)
        let magic = try d.be32()
        guard magic == tombstonesMagic else {
            throw FormatError(file: path, offset: 0, reason: "bad magic 0x\(String(magic, radix: 16)), want 0x\(String(tombstonesMagic, radix: 16))")
        }
        let version = try d.byte()
        guard version == 1 else { throw FormatError(file: path, offset: 4, reason: "unsupported version \(version)") }
        try IndexReader.checkCRC(bytes, path, body: 5..<(bytes.count - 4), entryOffset: 5, what: "tombstones")
        var stones: [Tombstone] = []
        while d.remaining > 0 {
            stones.append(Tombstone(seriesID: try d.uvarint(), minTime: try d.varint(), maxTime: try d.varint()))
        }
        return stones
    }

    /// Exactly `count` bytes at `offset`; a short file is a `FormatError`.
    private static func read(_ segment: SegmentFile, at offset: Int, count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        try bytes.withUnsafeMutableBytes { buffer in
            while done < count {
                let n = pread(segment.fd, buffer.baseAddress! + done, count - done, off_t(offset + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw SystemError(operation: "pread", path: segment.path, code: errno)
                }
                if n == 0 {
                    throw FormatError(
                        file: segment.path, offset: offset + done,
                        reason: "file ends at \(offset + done), \(count - done) more bytes needed")
                }
                done += n
            }
        }
        return bytes
    }
}
