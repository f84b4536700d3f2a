import Formats

#if canImport(Glibc)
    import Glibc
#endif

/// Why a block or index could not be written; nothing on disk was published.
package enum BlockWriteError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Series must arrive in strictly ascending label order (no duplicates).
    case seriesOutOfOrder(previous: Labels, next: Labels)
    /// Label names must be non-empty and strictly ascending within a series.
    case invalidLabels(Labels)
    /// A label name or value was not among the symbols the writer was given.
    case unknownSymbol(String)
    /// Chunks must be time-ordered, non-overlapping, with ascending refs, and
    /// inside the block's time range.
    case invalidChunks(Labels, reason: String)
    case invalidTimeRange(minTime: Int64, maxTime: Int64)
    /// A size or count does not fit its field (e.g. a section over 4 GiB).
    case limitExceeded(String)
    case alreadyExists(path: String)
    case finished

    package var description: String {
        switch self {
        case .seriesOutOfOrder(let previous, let next): "series \(next) does not sort after \(previous)"
        case .invalidLabels(let labels): "label names of \(labels) are empty, unsorted or repeated"
        case .unknownSymbol(let s): "\"\(s)\" is not in the symbol table"
        case .invalidChunks(let labels, let reason): "chunks of \(labels): \(reason)"
        case .invalidTimeRange(let minTime, let maxTime): "block time range [\(minTime), \(maxTime)) is empty"
        case .limitExceeded(let what): "limit exceeded: \(what)"
        case .alreadyExists(let path): "\(path) already exists"
        case .finished: "the index writer is already finished"
        }
    }
}

/// Sequential buffered output to a file (or to memory), tracking the write
/// position so sections can record their offsets. Not thread-safe.
final class BlockFileOutput {
    let path: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private let inMemory: Bool
    private static let flushThreshold = 1 << 20
    /// Bytes written so far, buffered ones included.
    private(set) var position = 0

    /// Creates (truncating) `path`.
    init(path: String) throws {
        self.path = path
        fd = try Files.create(path)
        inMemory = false
        buffer.reserveCapacity(Self.flushThreshold + 4096)
    }

    /// Collects the bytes in memory; `finish()` returns them.
    init(inMemory name: String) {
        path = name
        fd = -1
        inMemory = true
    }

    deinit { if fd >= 0 { close(fd) } }

    func write(_ bytes: [UInt8]) throws {
        buffer.append(contentsOf: bytes)
        position += bytes.count
        if !inMemory, buffer.count >= Self.flushThreshold { try flush() }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        buffer.append(contentsOf: bytes)
        position += bytes.count
        if !inMemory, buffer.count >= Self.flushThreshold { try flush() }
    }

    /// Zero bytes up to the next multiple of `alignment`.
    func pad(to alignment: Int) throws {
        let n = (alignment - position % alignment) % alignment
        if n > 0 { try write([UInt8](repeating: 0, count: n)) }
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try Files.writeAll(fd, $0, path: path) }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes out the rest, fsyncs and closes the file; in memory, returns the bytes.
    @discardableResult
    func finish() throws -> [UInt8] {
        if inMemory { return buffer }
        try flush()
        try Files.sync(fd, path: path)
        close(fd)
        fd = -1
        return []
    }
}

/// Writes a Prometheus index v2 file (`docs/format/index.md`), byte-identical to what
/// Prometheus 2.42's `index.Writer` produces for the same symbols and series:
///
/// ```
/// header  BAAAD700 | 02
/// symbols len BE32 | count BE32 | str… | CRC32C(count ‖ strs)
/// series  [pad 16] uvarint len | labels | chunk metas | CRC32C   (ID = offset / 16)
/// label indices (legacy), postings lists ("" "" first), label offset table,
/// postings offset table, TOC (6 × BE64 offsets | CRC32C)
/// ```
///
/// Give every symbol at `init` (the writer adds the empty string, as Prometheus's
/// all-postings key does), then every series in ascending label order with
/// `addSeries`, then call `finish()`. Postings are collected in memory (one
/// `UInt32` per label of each series); everything else streams out. Not
/// thread-safe.
package final class IndexWriter {

    private let output: BlockFileOutput
    private var symbolRefs: [ByteString: UInt32] = [:]
    private let symbols: [String]
    private var lastLabels: Labels?
    private var seriesIDs: [UInt32] = []
    /// (name symbol << 32 | value symbol) → series IDs, ascending.
    private var postings: [UInt64: [UInt32]] = [:]
    private var finished = false
    private var toc = [UInt64](repeating: 0, count: 6)
    private var scratch = EncodeBuffer()

    /// Starts an index file at `path` (created or truncated).
    package convenience init(path: String, symbols: some Sequence<String>) throws {
        try self.init(output: BlockFileOutput(path: path), symbols: symbols)
    }

    init(output: BlockFileOutput, symbols: some Sequence<String>) throws {
        self.output = output
        var unique = Set<ByteString>(symbols.lazy.map(ByteString.init))
        unique.insert(ByteString(string: ""))
        self.symbols = unique.map(\.string).sorted(by: ByteString.precedes)
        for (i, s) in self.symbols.enumerated() { symbolRefs[ByteString(string: s)] = UInt32(i) }
        guard self.symbols.count <= Int(UInt32.max) else { throw BlockWriteError.limitExceeded("\(self.symbols.count) symbols") }

        var header = EncodeBuffer()
        header.be32(IndexLayout.magic)
        header.bytes.append(IndexLayout.version)
        try output.write(header.bytes)
        toc[0] = UInt64(output.position)
        try writeSymbols()
        toc[1] = UInt64(output.position)
    }

    /// The whole index for `series` (ascending label order) as bytes.
    package static func encode(_ series: [(labels: Labels, chunks: [BlockChunkMeta])]) throws -> [UInt8] {
        let writer = try IndexWriter(
            output: BlockFileOutput(inMemory: "index"),
            symbols: series.lazy.flatMap { $0.labels.labels.lazy.flatMap { [$0.name, $0.value] } })
        for s in series { try writer.addSeries(s.labels, chunks: s.chunks) }
        return try writer.finishReturningBytes()
    }

    /// Writes the index for `series` (ascending label order) to `path` and fsyncs it.
    /// Returns the file size.
    @discardableResult
    package static func write(_ series: [(labels: Labels, chunks: [BlockChunkMeta])], to path: String) throws -> Int {
        let writer = try IndexWriter(
            path: path,
            symbols: series.lazy.flatMap { $0.labels.labels.lazy.flatMap { [$0.name, $0.value] } })
        for s in series { try writer.addSeries(s.labels, chunks: s.chunks) }
        return try writer.finish()
    }

    private func writeSymbols() throws {
        var body = EncodeBuffer()
        body.be32(UInt32(symbols.count))
        for s in symbols { body.string(s) }
        try writeSection(body)
    }

    /// `len BE32 | body | CRC32C(body)`.
    private func writeSection(_ body: EncodeBuffer) throws {
        guard body.bytes.count <= Int(UInt32.max) else {
            throw BlockWriteError.limitExceeded("index section of \(body.bytes.count) bytes at \(output.position)")
        }
        var framed = EncodeBuffer()
        framed.be32(UInt32(body.bytes.count))
        framed.bytes.append(contentsOf: body.bytes)
        framed.appendCRC(from: 4)
        try output.write(framed.bytes)
    }

    /// Adds the next series. `labels` must sort after the previous series'; its
    /// chunks must be ordered by time without overlap and by ascending ref.
    package func addSeries(_ labels: Labels, chunks: [BlockChunkMeta]) throws {
        guard !finished else { throw BlockWriteError.finished }
        if let last = lastLabels, !(last < labels) { throw BlockWriteError.seriesOutOfOrder(previous: last, next: labels) }
        let list = labels.labels
        for (i, label) in list.enumerated() where label.name.isEmpty || (i > 0 && !ByteString.precedes(list[i - 1].name, label.name)) {
            throw BlockWriteError.invalidLabels(labels)
        }
        for (i, c) in chunks.enumerated() {
            guard c.minTime <= c.maxTime else {
                throw BlockWriteError.invalidChunks(labels, reason: "chunk \(i) ends (\(c.maxTime)) before it starts (\(c.minTime))")
            }
            if i > 0, c.minTime <= chunks[i - 1].maxTime || c.ref <= chunks[i - 1].ref {
                throw BlockWriteError.invalidChunks(labels, reason: "chunk \(i) overlaps or does not follow chunk \(i - 1)")
            }
        }

        try output.pad(to: 16)
        guard output.position / 16 <= Int(UInt32.max) else {
            throw BlockWriteError.limitExceeded("series section beyond 64 GiB")
        }
        let id = UInt32(output.position / 16)

        scratch.bytes.removeAll(keepingCapacity: true)
        scratch.uvarint(list.count)
        for label in list {
            guard let name = symbolRefs[ByteString(string: label.name)] else { throw BlockWriteError.unknownSymbol(label.name) }
            guard let value = symbolRefs[ByteString(string: label.value)] else { throw BlockWriteError.unknownSymbol(label.value) }
            scratch.uvarint(UInt64(name))
            scratch.uvarint(UInt64(value))
            postings[UInt64(name) << 32 | UInt64(value), default: []].append(id)
        }
        scratch.uvarint(chunks.count)
        if let first = chunks.first {
            scratch.varint(first.minTime)
            scratch.uvarint(UInt64(bitPattern: first.maxTime &- first.minTime))
            scratch.uvarint(first.ref.rawValue)
            var previous = first
            for c in chunks.dropFirst() {
                scratch.uvarint(UInt64(bitPattern: c.minTime &- previous.maxTime))
                scratch.uvarint(UInt64(bitPattern: c.maxTime &- c.minTime))
                scratch.varint(Int64(bitPattern: c.ref.rawValue &- previous.ref.rawValue))
                previous = c
            }
        }
        var entry = EncodeBuffer()
        entry.uvarint(scratch.bytes.count)
        let start = entry.bytes.count
        entry.bytes.append(contentsOf: scratch.bytes)
        entry.appendCRC(from: start)
        try output.write(entry.bytes)

        seriesIDs.append(id)
        lastLabels = labels
    }

    /// Writes label indices, postings, both offset tables and the TOC, then
    /// fsyncs and closes the file. Returns the file size.
    @discardableResult
    package func finish() throws -> Int {
        try writeTrailer()
        try output.finish()
        return output.position
    }

    func finishReturningBytes() throws -> [UInt8] {
        try writeTrailer()
        return try output.finish()
    }

    private func writeTrailer() throws {
        guard !finished else { throw BlockWriteError.finished }
        finished = true
        let keys = postings.keys.sorted()

        // Legacy label indices: per name, the value symbols ascending.
        toc[2] = UInt64(output.position)
        var labelIndexOffsets: [(name: UInt32, offset: Int)] = []
        var k = 0
        while k < keys.count {
            let name = UInt32(keys[k] >> 32)
            var end = k
            while end < keys.count, UInt32(keys[end] >> 32) == name { end += 1 }
            try output.pad(to: 4)
            labelIndexOffsets.append((name, output.position))
            var body = EncodeBuffer()
            body.be32(1)
            body.be32(UInt32(end - k))
            for key in keys[k..<end] { body.be32(UInt32(truncatingIfNeeded: key)) }
            try writeSection(body)
            k = end
        }

        // Postings: all series first, then (name, value) ascending.
        toc[4] = UInt64(output.position)
        var postingsOffsets: [Int] = []
        postingsOffsets.reserveCapacity(keys.count + 1)
        for ids in [seriesIDs] + keys.lazy.map({ self.postings[$0]! }) {
            try output.pad(to: 4)
            postingsOffsets.append(output.position)
            var body = EncodeBuffer()
            body.be32(UInt32(ids.count))
            for id in ids { body.be32(id) }
            try writeSection(body)
        }

        toc[3] = UInt64(output.position)
        var table = EncodeBuffer()
        table.be32(UInt32(labelIndexOffsets.count))
        for entry in labelIndexOffsets {
            table.uvarint(1)
            table.string(symbols[Int(entry.name)])
            table.uvarint(entry.offset)
        }
        try writeSection(table)

        toc[5] = UInt64(output.position)
        table = EncodeBuffer()
        table.be32(UInt32(keys.count + 1))
        table.uvarint(2)
        table.string("")
        table.string("")
        table.uvarint(postingsOffsets[0])
        for (i, key) in keys.enumerated() {
            table.uvarint(2)
            table.string(symbols[Int(key >> 32)])
            table.string(symbols[Int(UInt32(truncatingIfNeeded: key))])
            table.uvarint(postingsOffsets[i + 1])
        }
        try writeSection(table)

        var tocBytes = EncodeBuffer()
        for offset in toc { tocBytes.be64(offset) }
        tocBytes.appendCRC(from: 0)
        try output.write(tocBytes.bytes)
    }
}
