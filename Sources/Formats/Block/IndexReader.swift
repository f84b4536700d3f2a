import CStorage

/// A series as the index stores it. `id` is its offset in the index divided by
/// 16, the number postings lists hold.
package struct IndexSeries: Sendable, Equatable {
    package let id: UInt32
    package let labels: Labels
    package let chunks: [BlockChunkMeta]

    package init(id: UInt32, labels: Labels, chunks: [BlockChunkMeta]) {
        self.id = id
        self.labels = labels
        self.chunks = chunks
    }
}

/// The six section offsets of an index's table of contents (0 = absent).
package struct IndexTOC: Sendable, Equatable {
    package var symbols: Int
    package var series: Int
    package var labelIndices: Int
    package var labelOffsetTable: Int
    package var postings: Int
    package var postingsOffsetTable: Int
}

/// Reads a Prometheus index v2 file (`docs/format/index.md`) written by `IndexWriter`
/// or by Prometheus itself.
///
/// The whole file is read into memory (no mmap, so a file truncated underneath
/// cannot fault the process). Opening checks the header, the TOC, the symbol
/// table and the postings offset table, CRCs included, and keeps all symbols and
/// postings-table entries decoded. Series and postings lists are decoded, and
/// their CRCs checked, on each access; `verify()` checks every byte of the file.
/// Every read is bounds-checked: corrupt input throws a `FormatError` naming the
/// file and offset and never traps. A value type, safe to share across tasks.
package struct IndexReader: Sendable {
    package let file: String
    package let toc: IndexTOC
    /// Every symbol, in file order (Prometheus sorts them byte-wise).
    package let symbols: [String]
    private let bytes: [UInt8]
    private let tocStart: Int
    private let postingsTable: [PostingsEntry]
    /// Section starts in file order, then the TOC: [symbols, series, label
    /// indices, postings, label offset table, postings offset table, TOC].
    private let layout: [Int]

    struct PostingsEntry: Sendable {
        let name: String
        let value: String
        let offset: Int
    }

    /// Opens index bytes; `file` names them in errors.
    package init(bytes: [UInt8], file: String) throws(FormatError) {
        self.file = file
        self.bytes = bytes
        let headerSize = 5
        guard bytes.count >= headerSize + IndexLayout.tocSize else {
            throw FormatError(
                file: file, offset: 0, reason: "file is \(bytes.count) bytes, shorter than header and TOC (\(headerSize + IndexLayout.tocSize))")
        }
        var header = IndexDecoder(bytes: bytes, file: file, position: 0, end: headerSize)
        let magic = try header.be32()
        guard magic == IndexLayout.magic else {
            throw FormatError(
                file: file, offset: 0, reason: "bad magic 0x\(String(magic, radix: 16)), want 0x\(String(IndexLayout.magic, radix: 16))")
        }
        let version = try header.byte()
        guard version == IndexLayout.version else {
            throw FormatError(file: file, offset: 4, reason: "unsupported index version \(version), want \(IndexLayout.version)")
        }

        let tocStart = bytes.count - IndexLayout.tocSize
        self.tocStart = tocStart
        let tocCRC = bytes.withUnsafeBufferPointer { cs_crc32c(0, $0.baseAddress! + tocStart, 48) }
        var tocDecoder = IndexDecoder(bytes: bytes, file: file, position: tocStart, end: bytes.count)
        var raw: [UInt64] = []
        for _ in 0..<6 { raw.append(try tocDecoder.be64()) }
        // The CRC first: a flipped bit is reported as such, not as a bad offset.
        let storedCRC = try tocDecoder.be32()
        guard storedCRC == tocCRC else {
            throw FormatError(file: file, offset: tocStart, reason: crcMismatch("TOC", storedCRC, tocCRC))
        }
        var offsets: [Int] = []
        for (i, v) in raw.enumerated() {
            guard v <= UInt64(tocStart) else {
                throw FormatError(file: file, offset: tocStart + 8 * i, reason: "TOC offset \(v) is past the TOC at \(tocStart)")
            }
            offsets.append(Int(v))
        }
        let toc = IndexTOC(
            symbols: offsets[0], series: offsets[1], labelIndices: offsets[2],
            labelOffsetTable: offsets[3], postings: offsets[4], postingsOffsetTable: offsets[5])
        self.toc = toc
        let layout = [
            toc.symbols, toc.series, toc.labelIndices, toc.postings, toc.labelOffsetTable,
            toc.postingsOffsetTable, tocStart
        ]
        self.layout = layout
        var previous = headerSize
        for offset in layout where offset != 0 {
            guard offset >= previous else {
                throw FormatError(file: file, offset: tocStart, reason: "TOC sections out of order: \(offsets)")
            }
            previous = offset
        }

        var symbols: [String] = []
        if toc.symbols != 0 {
            var d = try Self.section(bytes, file, at: toc.symbols, limit: Self.end(of: 0, layout), what: "symbol table")
            let count = Int(try d.be32())
            guard count <= d.remaining else {
                throw FormatError(file: file, offset: toc.symbols, reason: "\(count) symbols cannot fit in \(d.remaining) bytes")
            }
            symbols.reserveCapacity(count)
            for _ in 0..<count { symbols.append(try d.string()) }
        }
        self.symbols = symbols

        var table: [PostingsEntry] = []
        if toc.postingsOffsetTable != 0 {
            let start = toc.postingsOffsetTable
            var d = try Self.section(bytes, file, at: start, limit: tocStart, what: "postings offset table")
            let count = Int(try d.be32())
            guard count <= d.remaining / 4 else {
                throw FormatError(file: file, offset: start, reason: "\(count) postings entries cannot fit in \(d.remaining) bytes")
            }
            table.reserveCapacity(count)
            for _ in 0..<count {
                let at = d.position
                let keys = try d.uvarint()
                guard keys == 2 else { throw FormatError(file: file, offset: at, reason: "postings entry with \(keys) keys, want 2") }
                let entry = PostingsEntry(name: try d.string(), value: try d.string(), offset: try d.offset(limit: tocStart))
                if let last = table.last, Self.compare(last.name, last.value, entry.name, entry.value) >= 0 {
                    throw FormatError(
                        file: file, offset: at, reason: "postings entry \(entry.name)=\(entry.value) does not sort after \(last.name)=\(last.value)")
                }
                table.append(entry)
            }
        }
        postingsTable = table
    }

    // MARK: Lookups

    /// Label names with at least one series, ascending byte-wise.
    package func labelNames() -> [String] {
        var names: [String] = []
        for e in postingsTable where !e.name.isEmpty {
            if let last = names.last, last.utf8.elementsEqual(e.name.utf8) { continue }
            names.append(e.name)
        }
        return names
    }

    /// Values of `name`, ascending byte-wise; empty when no series has the label.
    package func labelValues(_ name: String) -> [String] {
        var i = lowerBound(name, "")
        var values: [String] = []
        while i < postingsTable.count, postingsTable[i].name.utf8.elementsEqual(name.utf8) {
            values.append(postingsTable[i].value)
            i += 1
        }
        return values
    }

    /// IDs of the series with label `name="value"`, ascending; empty when none.
    package func postings(name: String, value: String) throws(FormatError) -> [UInt32] {
        let i = lowerBound(name, value)
        guard i < postingsTable.count, Self.compare(postingsTable[i].name, postingsTable[i].value, name, value) == 0 else {
            return []
        }
        return try postingsList(at: postingsTable[i].offset)
    }

    /// Every series ID (the ("", "") list Prometheus writes first).
    package func allPostings() throws(FormatError) -> [UInt32] {
        try postings(name: "", value: "")
    }

    /// The series with `id` (labels and chunk metadata), CRC-checked.
    package func series(_ id: UInt32) throws(FormatError) -> IndexSeries {
        let offset = Int(id) * 16
        guard toc.series != 0, offset >= toc.series, offset < Self.end(of: 1, layout) else {
            throw FormatError(file: file, offset: offset, reason: "series \(id) is outside the series section")
        }
        return try decodeSeries(at: offset).series
    }

    /// Every series in ID (= label) order.
    package func allSeries() throws(FormatError) -> [IndexSeries] {
        var result: [IndexSeries] = []
        for id in try allPostings() { result.append(try series(id)) }
        return result
    }

    // MARK: Full check

    /// Checks every section of the file, legacy ones included: all CRCs, that
    /// sections are contiguous with zero padding only, that symbol references
    /// resolve, and that the all-series postings list names exactly the series
    /// in the series section. Returns every series of the series section, in
    /// ID (= file) order.
    @discardableResult
    package func verify() throws(FormatError) -> [IndexSeries] {
        var position = 5
        if toc.symbols != 0 {
            guard toc.symbols == position else { throw fail(toc.symbols, "symbol table does not follow the header") }
            position = try Self.section(bytes, file, at: position, limit: tocStart, what: "symbol table").end + 4
        }
        var series: [IndexSeries] = []
        if toc.series != 0 {
            try expectSection(toc.series, at: position, "series")
            let end = Self.end(of: 1, layout)
            while true {
                let aligned = try skipPadding(from: position, to: 16, limit: end)
                if aligned >= end { position = end; break }
                let decoded = try decodeSeries(at: aligned)
                series.append(decoded.series)
                position = decoded.next
            }
        }
        var labelIndices: Set<Int> = []
        if toc.labelIndices != 0 {
            try expectSection(toc.labelIndices, at: position, "label indices")
            let end = Self.end(of: 2, layout)
            while true {
                let aligned = try skipPadding(from: position, to: 4, limit: end)
                if aligned >= end { position = end; break }
                var d = try Self.section(bytes, file, at: aligned, limit: end, what: "label index")
                let names = Int(try d.be32())
                let entries = Int(try d.be32())
                guard names >= 1, names <= d.remaining / 4, entries <= d.remaining / 4, names * entries * 4 == d.remaining else {
                    throw fail(aligned, "label index of \(names) names × \(entries) entries does not fill its \(d.remaining + 8) bytes")
                }
                for _ in 0..<(names * entries) {
                    let at = d.position
                    let ref = try d.be32()
                    guard Int(ref) < symbols.count else { throw fail(at, "symbol reference \(ref) out of \(symbols.count)") }
                }
                labelIndices.insert(aligned)
                position = d.end + 4
            }
        }
        var postingsLists: Set<Int> = []
        if toc.postings != 0 {
            try expectSection(toc.postings, at: position, "postings")
            let end = Self.end(of: 3, layout)
            while true {
                let aligned = try skipPadding(from: position, to: 4, limit: end)
                if aligned >= end { position = end; break }
                _ = try postingsList(at: aligned)
                postingsLists.insert(aligned)
                position = aligned + 4 + Int(try be32(at: aligned)) + 4
            }
        }
        if toc.labelOffsetTable != 0 {
            try expectSection(toc.labelOffsetTable, at: position, "label offset table")
            var d = try Self.section(bytes, file, at: position, limit: tocStart, what: "label offset table")
            let count = Int(try d.be32())
            for _ in 0..<count {
                let at = d.position
                let keys = try d.uvarint()
                guard keys >= 1, keys <= UInt64(d.remaining) else { throw fail(at, "label offset entry with \(keys) keys") }
                for _ in 0..<keys { _ = try d.string() }
                let offset = try d.offset(limit: tocStart)
                guard labelIndices.contains(offset) else { throw fail(at, "label offset entry points at \(offset), not at a label index") }
            }
            guard d.remaining == 0 else { throw fail(d.position, "\(d.remaining) bytes after \(count) label offset entries") }
            position = d.end + 4
        }
        if toc.postingsOffsetTable != 0 {
            try expectSection(toc.postingsOffsetTable, at: position, "postings offset table")
            position = try Self.section(bytes, file, at: position, limit: tocStart, what: "postings offset table").end + 4
            for entry in postingsTable where !postingsLists.contains(entry.offset) {
                throw fail(toc.postingsOffsetTable, "entry \(entry.name)=\(entry.value) points at \(entry.offset), not at a postings list")
            }
        }
        guard position == tocStart else { throw fail(position, "\(tocStart - position) unaccounted bytes before the TOC") }
        if !postingsTable.isEmpty || toc.series != 0 {
            let all = try allPostings()
            guard all.elementsEqual(series.lazy.map(\.id)) else {
                throw fail(toc.postings, "all-series postings list (\(all.count) IDs) differs from the \(series.count) series in the series section")
            }
        }
        return series
    }

    // MARK: Decoding

    private func fail(_ offset: Int, _ reason: String) -> FormatError {
        FormatError(file: file, offset: offset, reason: reason)
    }

    private func be32(at offset: Int) throws(FormatError) -> UInt32 {
        var d = IndexDecoder(bytes: bytes, file: file, position: offset, end: tocStart)
        return try d.be32()
    }

    private func expectSection(_ tocOffset: Int, at position: Int, _ name: String) throws(FormatError) {
        guard tocOffset == position else {
            throw fail(position, "\(name) section starts at \(tocOffset) per the TOC, previous section ends at \(position)")
        }
    }

    /// Checks that `[from, aligned)` is zero and returns `aligned`, the next
    /// multiple of `alignment` (or `limit` if that comes first).
    private func skipPadding(from: Int, to alignment: Int, limit: Int) throws(FormatError) -> Int {
        let aligned = min((from + alignment - 1) / alignment * alignment, limit)
        guard from <= aligned else { return from }
        for i in from..<aligned where bytes[i] != 0 {
            throw fail(i, "non-zero padding byte 0x\(String(bytes[i], radix: 16))")
        }
        return aligned
    }

    /// Decodes the series entry at `offset`; `next` is the offset after its CRC.
    private func decodeSeries(at offset: Int) throws(FormatError) -> (series: IndexSeries, next: Int) {
        let limit = Self.end(of: 1, layout)
        guard offset % 16 == 0 else { throw fail(offset, "series offset not 16-byte aligned") }
        var d = IndexDecoder(bytes: bytes, file: file, position: offset, end: limit)
        let length = try d.uvarint()
        let bodyStart = d.position
        guard length <= UInt64(limit - bodyStart), Int(length) + 4 <= limit - bodyStart else {
            throw fail(offset, "series entry of \(length) bytes runs past the series section end at \(limit)")
        }
        let bodyEnd = bodyStart + Int(length)
        try Self.checkCRC(bytes, file, body: bodyStart..<bodyEnd, entryOffset: offset, what: "series")
        d = IndexDecoder(bytes: bytes, file: file, position: bodyStart, end: bodyEnd)

        let labelCount = try d.uvarint()
        guard labelCount <= UInt64(d.remaining / 2) else { throw fail(offset, "\(labelCount) labels cannot fit in the series entry") }
        var labels: [Label] = []
        labels.reserveCapacity(Int(labelCount))
        for _ in 0..<labelCount {
            let name = try symbol(&d)
            let value = try symbol(&d)
            if let last = labels.last, !ByteString.precedes(last.name, name) {
                throw fail(offset, "label \(name) does not sort after \(last.name)")
            }
            labels.append(Label(name, value))
        }

        let chunkCount = try d.uvarint()
        guard chunkCount <= UInt64(d.remaining / 3) else { throw fail(offset, "\(chunkCount) chunks cannot fit in the series entry") }
        var chunks: [BlockChunkMeta] = []
        chunks.reserveCapacity(Int(chunkCount))
        var maxTime: Int64 = 0
        var ref: UInt64 = 0
        for i in 0..<chunkCount {
            let minTime: Int64
            if i == 0 {
                minTime = try d.varint()
                maxTime = minTime &+ Int64(bitPattern: try d.uvarint())
                ref = try d.uvarint()
            } else {
                minTime = maxTime &+ Int64(bitPattern: try d.uvarint())
                maxTime = minTime &+ Int64(bitPattern: try d.uvarint())
                ref = UInt64(bitPattern: Int64(bitPattern: ref) &+ (try d.varint()))
            }
            guard minTime <= maxTime else { throw fail(offset, "chunk \(i) ends (\(maxTime)) before it starts (\(minTime))") }
            chunks.append(BlockChunkMeta(ref: BlockChunkRef(rawValue: ref), minTime: minTime, maxTime: maxTime))
        }
        let series = IndexSeries(id: UInt32(offset / 16), labels: Labels(sorted: labels), chunks: chunks)
        return (series, bodyEnd + 4)
    }

    private func symbol(_ d: inout IndexDecoder) throws(FormatError) -> String {
        let at = d.position
        let ref = try d.uvarint()
        guard ref < UInt64(symbols.count) else { throw fail(at, "symbol reference \(ref) out of \(symbols.count)") }
        return symbols[Int(ref)]
    }

    private func postingsList(at offset: Int) throws(FormatError) -> [UInt32] {
        let limit = Self.end(of: 3, layout)
        guard toc.postings != 0, offset >= toc.postings, offset < limit else {
            throw fail(offset, "postings list offset outside the postings section")
        }
        var d = try Self.section(bytes, file, at: offset, limit: limit, what: "postings list")
        let count = Int(try d.be32())
        guard count == d.remaining / 4, d.remaining % 4 == 0 else {
            throw fail(offset, "postings list of \(count) IDs in \(d.remaining) bytes")
        }
        var ids: [UInt32] = []
        ids.reserveCapacity(count)
        for _ in 0..<count {
            let id = try d.be32()
            if let last = ids.last, id <= last { throw fail(offset, "postings list IDs not ascending (\(id) after \(last))") }
            ids.append(id)
        }
        return ids
    }

    /// Position of the first entry not below (name, value).
    private func lowerBound(_ name: String, _ value: String) -> Int {
        var lo = 0, hi = postingsTable.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if Self.compare(postingsTable[mid].name, postingsTable[mid].value, name, value) < 0 { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// Byte-wise order of (name, value) pairs: negative, zero or positive.
    static func compare(_ n1: String, _ v1: String, _ n2: String, _ v2: String) -> Int {
        let byName = compareBytes(n1, n2)
        return byName != 0 ? byName : compareBytes(v1, v2)
    }

    package static func compareBytes(_ a: String, _ b: String) -> Int {
        var i = a.utf8.makeIterator(), j = b.utf8.makeIterator()
        while true {
            switch (i.next(), j.next()) {
            case (nil, nil): return 0
            case (nil, _): return -1
            case (_, nil): return 1
            case let (x?, y?) where x != y: return x < y ? -1 : 1
            default: continue
            }
        }
    }

    /// Where section `i` of `layout` ends: at the next present section (or the TOC).
    static func end(of i: Int, _ layout: [Int]) -> Int {
        layout[(i + 1)...].first { $0 != 0 }!
    }

    /// Checks `len BE32 | body | CRC32C(body)` at `offset` ending by `limit` and
    /// returns a decoder over the body.
    static func section(
        _ bytes: [UInt8], _ file: String, at offset: Int, limit: Int,
        what: String
    ) throws(FormatError) -> IndexDecoder {
        guard offset >= 0, offset <= limit - 8 else {
            throw FormatError(file: file, offset: offset, reason: "\(what) at \(offset) does not fit before \(limit)")
        }
        var d = IndexDecoder(bytes: bytes, file: file, position: offset, end: limit)
        let length = Int(try d.be32())
        guard length <= limit - offset - 8 else {
            throw FormatError(file: file, offset: offset, reason: "\(what) of \(length) bytes runs past \(limit)")
        }
        let body = (offset + 4)..<(offset + 4 + length)
        try checkCRC(bytes, file, body: body, entryOffset: offset, what: what)
        return IndexDecoder(bytes: bytes, file: file, position: body.lowerBound, end: body.upperBound)
    }

    /// The BE32 CRC32C stored right after `body` must match the body's.
    package static func checkCRC(
        _ bytes: [UInt8], _ file: String, body: Range<Int>, entryOffset: Int,
        what: String
    ) throws(FormatError) {
        let (stored, computed) = bytes.withUnsafeBufferPointer { b in
            (
                cs_load_be32(b.baseAddress! + body.upperBound),
                cs_crc32c(0, b.baseAddress! + body.lowerBound, body.count)
            )
        }
        guard stored == computed else {
            throw FormatError(file: file, offset: entryOffset, reason: crcMismatch(what, stored, computed))
        }
    }
}

private func crcMismatch(_ what: String, _ stored: UInt32, _ computed: UInt32) -> String {
    func hex(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - s.count) + s
    }
    return "\(what) CRC32C \(hex(stored)), computed \(hex(computed))"
}

/// A bounds-checked cursor over `bytes[position..<end]` (Prometheus's `decbuf`).
package struct IndexDecoder {
    let bytes: [UInt8]
    let file: String
    package var position: Int
    let end: Int

    package init(bytes: [UInt8], file: String, position: Int, end: Int) {
        self.bytes = bytes
        self.file = file
        self.position = position
        self.end = end
    }

    package var remaining: Int { end - position }

    private func short(_ need: Int, _ what: String) -> FormatError {
        FormatError(file: file, offset: position, reason: "\(what) needs \(need) bytes, \(max(0, remaining)) left before \(end)")
    }

    package mutating func byte() throws(FormatError) -> UInt8 {
        guard remaining >= 1 else { throw short(1, "byte") }
        defer { position += 1 }
        return bytes[position]
    }

    package mutating func be32() throws(FormatError) -> UInt32 {
        guard remaining >= 4 else { throw short(4, "BE32") }
        defer { position += 4 }
        return UInt32(bytes[position]) << 24 | UInt32(bytes[position + 1]) << 16
            | UInt32(bytes[position + 2]) << 8 | UInt32(bytes[position + 3])
    }

    mutating func be64() throws(FormatError) -> UInt64 {
        UInt64(try be32()) << 32 | UInt64(try be32())
    }

    package mutating func uvarint() throws(FormatError) -> UInt64 {
        let start = position
        var value: UInt64 = 0
        var shift: UInt64 = 0
        for i in 0..<10 {
            guard position < end else {
                position = start
                throw short(i + 1, "uvarint")
            }
            let b = bytes[position]
            position += 1
            if i == 9, b > 1 { break }
            value |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return value }
            shift += 7
        }
        position = start
        throw FormatError(file: file, offset: start, reason: "uvarint overflows 64 bits")
    }

    package mutating func varint() throws(FormatError) -> Int64 {
        let u = try uvarint()
        return Int64(bitPattern: u >> 1) ^ -Int64(bitPattern: u & 1)
    }

    /// A uvarint file offset that must not exceed `limit`.
    mutating func offset(limit: Int) throws(FormatError) -> Int {
        let at = position
        let v = try uvarint()
        guard v <= UInt64(limit) else { throw FormatError(file: file, offset: at, reason: "offset \(v) past \(limit)") }
        return Int(v)
    }

    /// uvarint length then that many bytes of valid UTF-8.
    mutating func string() throws(FormatError) -> String {
        let at = position
        let length = try uvarint()
        guard length <= UInt64(remaining) else {
            position = at
            throw FormatError(file: file, offset: at, reason: "string of \(length) bytes, \(remaining) left before \(end)")
        }
        let range = position..<(position + Int(length))
        guard let s = String(validating: bytes[range], as: UTF8.self) else {
            throw FormatError(file: file, offset: at, reason: "string is not valid UTF-8")
        }
        position = range.upperBound
        return s
    }
}
