import Engine
import Formats
import Foundation

/// The outcome of checking one block or one log directory: what was counted and
/// every problem found (file, byte offset, what is wrong).
package struct Verification: Sendable {
    /// The checked block or log directory.
    package let path: String
    /// A WAL/WBL directory rather than a block.
    package let isLog: Bool
    package var problems: [FormatError] = []
    package var series: UInt64 = 0
    package var chunks: UInt64 = 0
    package var samples: UInt64 = 0
    /// WAL/WBL records (log directories only).
    package var records: UInt64 = 0

    package var ok: Bool { problems.isEmpty }
}

/// `muninn blocks verify`: a read-only full check of blocks and logs that keeps
/// going after a problem so one run reports as many as it can.
///
/// A block is checked for: `meta.json` (parses, version 1, `ulid` equals the
/// directory name, `minTime < maxTime`, stats equal the counted series, chunks
/// and samples); every chunk segment (header, every record's length, CRC32C,
/// known encoding, XOR data decoding with strictly increasing timestamps;
/// histogram chunks count by their header and are not decoded); the
/// index (`IndexReader.verify()`: every CRC, section layout, padding, symbol
/// references; plus symbols sorted and unique, series sorted by labels, label
/// values sorted, postings referencing existing series that carry the label and
/// covering every label of every series, chunk refs pointing at records, chunk
/// time ranges equal to their samples', inside the block's `[minTime, maxTime)`
/// and in order); `tombstones` (CRC, series that exist); zero padding in the
/// chunk segment headers. A problem in one file does not stop the others; a
/// structural index problem stops the index checks that depend on it.
package enum BlockVerifier {
    /// Checks the block directory `directory`.
    /// The chunk files and the index are read on two threads; they meet only
    /// when chunk refs are matched to records.
    package static func verify(block directory: String) -> Verification {
        var v = Verification(path: directory, isLog: false)
        let meta = checkMeta(directory, &v)
        let scan = Background { () -> ([Record], [FormatError]) in
            var chunks = Verification(path: directory, isLog: false)
            let records = scanChunks(directory + "/chunks", &chunks)
            return (records, chunks.problems)
        }
        var indexed = Verification(path: directory, isLog: false)
        let index = readIndex(directory, &indexed)
        let (records, chunkProblems) = scan.wait()
        v.problems += chunkProblems + indexed.problems
        if let (index, all) = index { checkSeries(directory, meta, index, all, records, &v) }
        return v
    }

    /// Reads a WAL or WBL directory (checkpoint, then segments): every record's
    /// CRC and decoding. Reading a log cannot go past a bad record, so at most one
    /// problem is reported.
    package static func verify(log directory: String) -> Verification {
        var v = Verification(path: directory, isLog: true)
        do {
            try WALScan.walk(directory) { _, record in
                v.records += 1
                switch record {
                case .series(let s): v.series += UInt64(s.count)
                case .samples(let s): v.samples += UInt64(s.count)
                default: break
                }
            }
        } catch let c as WALCorruption {
            v.problems.append(FormatError(file: c.file, offset: c.offset, reason: c.reason))
        } catch {
            v.problems.append(FormatError(file: directory, offset: 0, reason: "\(error)"))
        }
        return v
    }

    // MARK: meta.json

    private static func checkMeta(_ directory: String, _ v: inout Verification) -> BlockMeta? {
        let path = directory + "/" + BlockMeta.fileName
        let meta: BlockMeta
        do {
            meta = try BlockMeta.read(directory: directory)
        } catch {
            v.problems.append(problem(error, path))
            return nil
        }
        let name = URL(fileURLWithPath: directory).lastPathComponent
        if meta.ulid.description != name {
            v.problems.append(FormatError(file: path, offset: 0, reason: "ulid \(meta.ulid) does not match the directory name \(name)"))
        }
        if meta.minTime >= meta.maxTime {
            v.problems.append(FormatError(file: path, offset: 0, reason: "minTime \(meta.minTime) is not below maxTime \(meta.maxTime)"))
        }
        return meta
    }

    // MARK: Chunks

    /// What the scan found about one chunk record.
    struct Record: Sendable {
        let ref: UInt64
        let encoding: UInt8
        let samples: Int
        let minTime: Int64
        let maxTime: Int64
        /// CRC, encoding and data all fine.
        let valid: Bool
    }

    /// Walks every record of every segment in file order. Returns the records,
    /// sorted by ref.
    private static func scanChunks(_ directory: String, _ v: inout Verification) -> [Record] {
        guard BlockDiscovery.isDirectory(directory) else {
            v.problems.append(FormatError(file: directory, offset: 0, reason: "missing chunks directory"))
            return []
        }
        let names: [String]
        do {
            names = try BlockReader.segmentNames(in: directory)
        } catch {
            v.problems.append(problem(error, directory))
            return []
        }
        var records: [Record] = []
        var scratch = XORScratch()
        for (index, name) in names.enumerated() {
            let path = directory + "/" + name
            do {
                let window = try ChunkSegmentWindow(path: path)
                // Readers ignore the header's 3 padding bytes; a verifier does not.
                if try window.bytes(at: 5, count: 3) != [0, 0, 0] {
                    v.problems.append(FormatError(file: path, offset: 5, reason: "non-zero header padding"))
                }
                var offset = ChunkSegment.headerSize
                while offset < window.size {
                    let r = try window.record(at: offset)
                    offset = r.next
                    let ref = UInt64(index) << 32 | UInt64(r.offset)
                    var valid = true
                    if !r.crcMatches {
                        v.problems.append(
                            FormatError(file: path, offset: r.offset, reason: ChunkSegment.crcMismatch(stored: r.storedCRC, computed: r.computedCRC)))
                        valid = false
                    }
                    guard let encoding = ChunkEncoding(rawValue: r.encoding) else {
                        v.problems.append(FormatError(file: path, offset: r.offset, reason: "unknown chunk encoding \(r.encoding)"))
                        records.append(Record(ref: ref, encoding: r.encoding, samples: 0, minTime: 0, maxTime: 0, valid: false))
                        continue
                    }
                    guard encoding == .xor, valid else {
                        // Histogram chunks also start with a BE16 sample count; they are not decoded.
                        let count = window.withData(r) { $0.count < 2 ? 0 : Int($0[0]) << 8 | Int($0[1]) }
                        records.append(Record(ref: ref, encoding: r.encoding, samples: count, minTime: 0, maxTime: 0, valid: valid))
                        continue
                    }
                    do {
                        let n = try window.withData(r) { try scratch.decode($0) }
                        let ts = scratch.timestamps
                        guard n > 0 else { throw FormatError(file: path, offset: r.offset, reason: "XOR chunk has no samples") }
                        for i in 1..<n where ts[i] <= ts[i - 1] {
                            throw FormatError(
                                file: path, offset: r.offset,
                                reason: "XOR chunk sample \(i) at \(ts[i]) does not follow \(ts[i - 1])")
                        }
                        records.append(Record(ref: ref, encoding: r.encoding, samples: n, minTime: ts[0], maxTime: ts[n - 1], valid: true))
                    } catch let error as FormatError {
                        v.problems.append(error)
                        records.append(Record(ref: ref, encoding: r.encoding, samples: 0, minTime: 0, maxTime: 0, valid: false))
                    } catch {
                        v.problems.append(FormatError(file: path, offset: r.offset, reason: "XOR chunk data: \(error)"))
                        records.append(Record(ref: ref, encoding: r.encoding, samples: 0, minTime: 0, maxTime: 0, valid: false))
                    }
                }
            } catch {
                v.problems.append(problem(error, path))
            }
        }
        return records
    }

    // MARK: Index and tombstones

    /// Opens the index and runs the checks that need no chunk records: every
    /// section (`IndexReader.verify()`), symbol order, postings. Returns the
    /// index and its series when they could be read.
    private static func readIndex(_ directory: String, _ v: inout Verification) -> (IndexReader, [IndexSeries])? {
        let path = directory + "/index"
        let index: IndexReader
        do {
            index = try IndexReader(path: path)
        } catch {
            v.problems.append(problem(error, path))
            return nil
        }
        for i in index.symbols.indices.dropFirst() where IndexReader.compareBytes(index.symbols[i - 1], index.symbols[i]) >= 0 {
            v.problems.append(
                FormatError(
                    file: path, offset: index.toc.symbols,
                    reason: "symbol \(i) \(Label.quote(index.symbols[i])) does not sort after \(Label.quote(index.symbols[i - 1]))"))
        }
        let all: [IndexSeries]
        do {
            all = try index.verify()
        } catch {
            v.problems.append(error)
            // The series may still be readable through the all-series postings.
            do {
                all = try index.allSeries()
            } catch let again {
                if again != error { v.problems.append(again) }
                return nil
            }
        }
        checkPostings(index, all, all.reduce(0) { $0 + $1.labels.labels.count }, &v)
        return (index, all)
    }

    /// Series order, every chunk ref against the scanned records, tombstones,
    /// and `meta.json`'s stats against what was counted.
    private static func checkSeries(
        _ directory: String, _ meta: BlockMeta?, _ index: IndexReader, _ all: [IndexSeries],
        _ records: [Record], _ v: inout Verification
    ) {
        let path = index.file
        var stats = BlockMeta.Stats()
        // Samples of a corrupt chunk are unknown; its problem is already reported.
        var samplesKnown = true
        for (i, series) in all.enumerated() {
            let at = Int(series.id) * 16
            if i > 0, !(all[i - 1].labels < series.labels) {
                v.problems.append(FormatError(file: path, offset: at, reason: "series \(series.labels) does not sort after \(all[i - 1].labels)"))
            }
            stats.numSeries += 1
            checkChunks(series, at: at, path, meta, records, &v, &stats, &samplesKnown)
        }
        let stones = checkTombstones(directory, all, &v)
        v.series = stats.numSeries
        v.chunks = stats.numChunks
        v.samples = stats.numSamples
        if let meta {
            stats.numTombstones = stones ?? meta.stats.numTombstones
            if !samplesKnown { stats.numSamples = meta.stats.numSamples }
            if stats != meta.stats {
                v.problems.append(
                    FormatError(
                        file: directory + "/" + BlockMeta.fileName, offset: 0,
                        reason: "stats \(describe(meta.stats)) disagree with the block's contents \(describe(stats))"))
            }
        }
    }

    private static func checkChunks(
        _ series: IndexSeries, at: Int, _ path: String, _ meta: BlockMeta?, _ records: [Record],
        _ v: inout Verification, _ stats: inout BlockMeta.Stats, _ samplesKnown: inout Bool
    ) {
        var previousMax: Int64?
        for (j, c) in series.chunks.enumerated() {
            stats.numChunks += 1
            var name: String { "series \(series.labels) chunk \(j) (ref \(c.ref.segment):\(c.ref.offset))" }
            if let previousMax, c.minTime <= previousMax {
                v.problems.append(
                    FormatError(file: path, offset: at, reason: "\(name) starts at \(c.minTime), not after the previous chunk's end \(previousMax)"))
            }
            previousMax = c.maxTime
            if let meta, c.minTime < meta.minTime || c.maxTime >= meta.maxTime {
                v.problems.append(
                    FormatError(
                        file: path, offset: at,
                        reason: "\(name) covers [\(c.minTime), \(c.maxTime)], outside the block's [\(meta.minTime), \(meta.maxTime))"))
            }
            guard let record = find(c.ref.rawValue, in: records) else {
                v.problems.append(FormatError(file: path, offset: at, reason: "\(name) does not point at a chunk record in chunks/"))
                continue
            }
            guard record.valid else {
                samplesKnown = false
                continue
            }
            stats.numSamples += UInt64(record.samples)
            guard record.encoding == ChunkEncoding.xor.rawValue else { continue }
            if record.minTime != c.minTime || record.maxTime != c.maxTime {
                v.problems.append(
                    FormatError(
                        file: path, offset: at,
                        reason: "\(name) claims [\(c.minTime), \(c.maxTime)], its samples span [\(record.minTime), \(record.maxTime)]"))
            }
        }
    }

    private static func find(_ ref: UInt64, in records: [Record]) -> Record? {
        var lo = 0, hi = records.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if records[mid].ref < ref { lo = mid + 1 } else { hi = mid }
        }
        return lo < records.count && records[lo].ref == ref ? records[lo] : nil
    }

    /// Every postings list names existing series that carry its label, values
    /// are sorted, and the lists together hold every label of every series.
    private static func checkPostings(_ index: IndexReader, _ all: [IndexSeries], _ labelPairs: Int, _ v: inout Verification) {
        let ids = all.map(\.id)
        var entries = 0
        for name in index.labelNames() {
            let values = index.labelValues(name)
            for i in values.indices.dropFirst() where IndexReader.compareBytes(values[i - 1], values[i]) >= 0 {
                v.problems.append(
                    FormatError(
                        file: index.file, offset: index.toc.postingsOffsetTable,
                        reason: "label \(name) value \(Label.quote(values[i])) does not sort after \(Label.quote(values[i - 1]))"))
            }
            for value in values {
                let list: [UInt32]
                do {
                    list = try index.postings(name: name, value: value)
                } catch {
                    v.problems.append(error)
                    continue
                }
                entries += list.count
                for id in list {
                    let k = lowerBound(id, ids)
                    guard k < ids.count, ids[k] == id else {
                        v.problems.append(
                            FormatError(
                                file: index.file, offset: index.toc.postings,
                                reason: "postings \(name)=\(Label.quote(value)) name series \(id), which does not exist"))
                        continue
                    }
                    if !all[k].labels.labels.contains(where: { sameBytes($0.name, name) && sameBytes($0.value, value) }) {
                        v.problems.append(
                            FormatError(
                                file: index.file, offset: index.toc.postings,
                                reason: "postings \(name)=\(Label.quote(value)) name series \(id) \(all[k].labels), which lacks that label"))
                    }
                }
            }
        }
        if entries != labelPairs {
            v.problems.append(
                FormatError(
                    file: index.file, offset: index.toc.postings,
                    reason: "postings lists hold \(entries) entries, the series have \(labelPairs) labels"))
        }
    }

    /// Byte-wise string equality (no Unicode normalization), memcmp-fast for
    /// native strings.
    private static func sameBytes(_ a: String, _ b: String) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        let fast = a.utf8.withContiguousStorageIfAvailable { x -> Bool? in
            b.utf8.withContiguousStorageIfAvailable { y in x.isEmpty || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 }
        }
        return (fast ?? nil) ?? a.utf8.elementsEqual(b.utf8)
    }

    private static func lowerBound(_ id: UInt32, _ ids: [UInt32]) -> Int {
        var lo = 0, hi = ids.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ids[mid] < id { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// Returns the number of tombstones, nil when the file is unreadable.
    private static func checkTombstones(_ directory: String, _ all: [IndexSeries], _ v: inout Verification) -> UInt64? {
        let path = directory + "/tombstones"
        do {
            let stones = try BlockReader.readTombstones(path)
            let ids = stones.isEmpty ? [] : Set(all.map { UInt64($0.id) })
            for t in stones where !ids.contains(t.seriesID) {
                v.problems.append(FormatError(file: path, offset: 5, reason: "tombstone for series \(t.seriesID), which does not exist"))
            }
            return UInt64(stones.count)
        } catch {
            v.problems.append(problem(error, path))
            return nil
        }
    }

    private static func describe(_ s: BlockMeta.Stats) -> String {
        "(series \(s.numSeries), chunks \(s.numChunks), samples \(s.numSamples), tombstones \(s.numTombstones))"
    }

    /// Any error as a problem of `file`.
    static func problem(_ error: any Error, _ file: String) -> FormatError {
        if let f = error as? FormatError { return f }
        return FormatError(file: file, offset: 0, reason: "\(error)")
    }
}

/// Runs a closure on its own thread; `wait()` returns its result.
private final class Background<T>: @unchecked Sendable {
    private var result: T?
    private let done = DispatchSemaphore(value: 0)

    init(_ body: @escaping @Sendable () -> T) {
        Thread.detachNewThread { [self] in
            result = body()
            done.signal()
        }
    }

    /// Blocks until the closure has returned (the semaphore orders the write
    /// of `result` before this read).
    func wait() -> T {
        done.wait()
        return result!
    }
}
