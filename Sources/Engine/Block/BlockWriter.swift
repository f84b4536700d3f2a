import Formats
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Writes a persistent block directory Prometheus 2.x opens (`docs/format/blocks.md`):
///
/// ```
/// <parent>/<ULID>/chunks/000001 …   chunk segments, cut at `segmentSize`
///                 index              IndexWriter, byte-identical to Prometheus
///                 meta.json          level 1, sources [self], optional thanos section
///                 tombstones         empty (9 bytes)
/// ```
///
/// Crash safety: everything is written inside `<ULID>.tmp-for-creation`, each
/// file fsynced, the directories fsynced, then the directory is renamed to
/// `<ULID>` and the parent fsynced. A crash leaves either no `<ULID>` directory
/// or a complete one; Prometheus (and `BlockWriter` on the same ULID) delete a
/// leftover `.tmp-for-creation` directory. On any error the temporary directory
/// is removed before the error is rethrown.
package enum BlockWriter {
    package static let defaultSegmentSize = 512 << 20
    package static let temporarySuffix = ".tmp-for-creation"
    /// `magic 0x0130BA30 | version 1 | CRC32C of no stones` (`docs/format/blocks.md#tombstones`).
    package static let emptyTombstones: [UInt8] = [0x01, 0x30, 0xBA, 0x30, 0x01, 0, 0, 0, 0]
    /// Prometheus sizes a chunk record with the longest length prefix it accepts.
    static let maxLengthFieldSize = 5

    /// Writes one block and returns its metadata, or nil — creating nothing — when
    /// the series hold no samples.
    ///
    /// - Parameters:
    ///   - series: any order (sorted here when needed); label sets must be
    ///     distinct. Series without chunks and chunks without samples are skipped.
    ///     Each series' chunks must be in time order without overlap, with
    ///     `minTime`/`maxTime` the first and last sample timestamps.
    ///   - minTime: inclusive lower bound of every sample (ms).
    ///   - maxTime: exclusive upper bound of every sample (ms).
    ///   - parent: the data directory; the block becomes `parent/<ULID>`.
    ///   - ulid: the block ID, by default a new one for the current time.
    ///   - thanos: when given, written as the `thanos` section with
    ///     `segment_files` and `files` filled in from what was written (as Mimir's
    ///     shipper uploads it). Prometheus ignores the section.
    ///   - segmentSize: chunk files are cut before a series that would overflow
    ///     this many bytes (records estimated at 5 + 1 + len + 4 bytes); a series'
    ///     chunks are split across files only when they alone exceed it.
    /// - Throws: `BlockWriteError` for invalid input, `SystemError` for I/O.
    ///   Safe to call concurrently for different ULIDs.
    @discardableResult
    package static func write(
        series: [(labels: Labels, chunks: [ChunkMeta])],
        minTime: Int64, maxTime: Int64,
        into parent: String,
        ulid: ULID? = nil,
        thanos: BlockMeta.Thanos? = nil,
        segmentSize: Int = defaultSegmentSize
    ) throws -> BlockMeta? {
        guard minTime < maxTime else { throw BlockWriteError.invalidTimeRange(minTime: minTime, maxTime: maxTime) }
        guard segmentSize > ChunkSegment.headerSize, segmentSize <= Int(UInt32.max) else {
            throw BlockWriteError.limitExceeded("segment size \(segmentSize)")
        }
        let series = try prepare(series, minTime: minTime, maxTime: maxTime)
        var stats = BlockMeta.Stats(numSeries: UInt64(series.count))
        for s in series {
            stats.numChunks += UInt64(s.chunks.count)
            for c in s.chunks { stats.numSamples += UInt64(c.chunk.count) }
        }
        guard stats.numSamples > 0 else { return nil }

        let ulid = ulid ?? ULID.make()
        let final = parent + "/" + ulid.description
        let temporary = final + temporarySuffix
        guard !Files.exists(final) else { throw BlockWriteError.alreadyExists(path: final) }
        try Files.remove(temporary)
        do {
            try Files.makeDirectory(temporary + "/chunks")
            var segments = SegmentWriter(directory: temporary + "/chunks", limit: segmentSize)
            var indexSeries: [(labels: Labels, chunks: [BlockChunkMeta])] = []
            indexSeries.reserveCapacity(series.count)
            for s in series {
                indexSeries.append((s.labels, try segments.append(s.chunks)))
            }
            try segments.finish()
            try Files.syncDirectory(temporary + "/chunks")

            let indexSize = try IndexWriter.write(indexSeries, to: temporary + "/index")

            var meta = BlockMeta(
                ulid: ulid, minTime: minTime, maxTime: maxTime, stats: stats,
                compaction: BlockMeta.Compaction(level: 1, sources: [ulid]))
            if var thanos {
                thanos.segmentFiles = segments.names
                thanos.files =
                    zip(segments.names, segments.sizes).map {
                        BlockMeta.Thanos.File(relPath: "chunks/" + $0, sizeBytes: Int64($1))
                    } + [
                        BlockMeta.Thanos.File(relPath: "index", sizeBytes: Int64(indexSize)),
                        BlockMeta.Thanos.File(relPath: BlockMeta.fileName)
                    ]
                meta.thanos = thanos
            }
            try writeFile(temporary + "/" + BlockMeta.fileName, meta.encoded())
            try writeFile(temporary + "/tombstones", emptyTombstones)
            try Files.syncDirectory(temporary)
            try Files.renameDurably(temporary, to: final)
            return meta
        } catch {
            try? Files.remove(temporary)
            throw error
        }
    }

    /// Drops empty chunks and series, sorts when needed, and checks order and ranges.
    private static func prepare(
        _ input: [(labels: Labels, chunks: [ChunkMeta])], minTime: Int64,
        maxTime: Int64
    ) throws -> [(labels: Labels, chunks: [ChunkMeta])] {
        var series: [(labels: Labels, chunks: [ChunkMeta])] = []
        series.reserveCapacity(input.count)
        var sorted = true
        for s in input {
            let chunks = s.chunks.allSatisfy({ $0.chunk.count > 0 }) ? s.chunks : s.chunks.filter { $0.chunk.count > 0 }
            guard !chunks.isEmpty else { continue }
            if let last = series.last, !(last.labels < s.labels) { sorted = false }
            series.append((s.labels, chunks))
        }
        if !sorted { series.sort { $0.labels < $1.labels } }
        for (i, s) in series.enumerated() {
            if i > 0, !(series[i - 1].labels < s.labels) {
                throw BlockWriteError.seriesOutOfOrder(previous: series[i - 1].labels, next: s.labels)
            }
            for (j, c) in s.chunks.enumerated() {
                guard c.minTime <= c.maxTime, c.minTime >= minTime, c.maxTime < maxTime else {
                    throw BlockWriteError.invalidChunks(
                        s.labels, reason: "chunk \(j) spans [\(c.minTime), \(c.maxTime)], outside the block's [\(minTime), \(maxTime))")
                }
                if j > 0, c.minTime <= s.chunks[j - 1].maxTime {
                    throw BlockWriteError.invalidChunks(
                        s.labels, reason: "chunk \(j) starts at \(c.minTime), not after chunk \(j - 1) ends (\(s.chunks[j - 1].maxTime))")
                }
            }
        }
        return series
    }

    /// Six-digit, 1-based segment file name for the 0-based `index`.
    package static func segmentName(_ index: Int) -> String {
        let digits = String(index + 1)
        return String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    private static func writeFile(_ path: String, _ bytes: [UInt8]) throws {
        let file = try BlockFileOutput(path: path)
        try file.write(bytes)
        try file.finish()
    }
}

/// Streams chunk records into `chunks/NNNNNN` files, cutting between series.
private struct SegmentWriter {
    let directory: String
    let limit: Int
    private var output: BlockFileOutput?
    private(set) var names: [String] = []
    private(set) var sizes: [Int] = []
    private var record = EncodeBuffer()

    init(directory: String, limit: Int) {
        self.directory = directory
        self.limit = limit
    }

    private static func estimate(_ c: ChunkMeta) -> Int {
        BlockWriter.maxLengthFieldSize + 1 + c.chunk.bytes.count + 4
    }

    private var position: Int { output?.position ?? 0 }
    private var hasRecords: Bool { position > ChunkSegment.headerSize }

    /// Writes one series' chunks and returns their index metadata.
    mutating func append(_ chunks: [ChunkMeta]) throws -> [BlockChunkMeta] {
        let total = chunks.reduce(0) { $0 + Self.estimate($1) }
        if output == nil || (hasRecords && position + total > limit) { try cut() }
        var metas: [BlockChunkMeta] = []
        metas.reserveCapacity(chunks.count)
        for c in chunks {
            // Only a series larger than a whole segment gets here with a full file.
            if hasRecords && position + Self.estimate(c) > limit { try cut() }
            guard let ref = BlockChunkRef(segment: names.count - 1, offset: position) else {
                throw BlockWriteError.limitExceeded("chunk reference for segment \(names.count - 1) offset \(position)")
            }
            record.bytes.removeAll(keepingCapacity: true)
            record.uvarint(c.chunk.bytes.count)
            let crcStart = record.bytes.count
            record.bytes.append(ChunkEncoding.xor.rawValue)
            record.bytes.append(contentsOf: c.chunk.bytes)
            record.appendCRC(from: crcStart)
            try output!.write(record.bytes)
            metas.append(BlockChunkMeta(ref: ref, minTime: c.minTime, maxTime: c.maxTime))
        }
        return metas
    }

    private mutating func cut() throws {
        try finishCurrent()
        let name = BlockWriter.segmentName(names.count)
        let file = try BlockFileOutput(path: directory + "/" + name)
        var header = EncodeBuffer()
        header.be32(ChunkSegment.magic)
        header.bytes += [ChunkSegment.version, 0, 0, 0]
        try file.write(header.bytes)
        output = file
        names.append(name)
    }

    private mutating func finishCurrent() throws {
        guard let output else { return }
        try output.finish()
        sizes.append(output.position)
        self.output = nil
    }

    mutating func finish() throws { try finishCurrent() }
}
