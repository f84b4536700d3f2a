import Engine
import Formats

/// Which samples `BlockDump` prints: series matching every matcher, samples
/// with `minTime <= t <= maxTime` (both inclusive, as `promtool tsdb dump`).
package struct DumpSelection: Sendable {
    package var matchers: [LabelMatcher]
    package var minTime: Int64
    package var maxTime: Int64

    package init(matchers: [LabelMatcher] = [], minTime: Int64 = .min, maxTime: Int64 = .max) {
        self.matchers = matchers
        self.minTime = minTime
        self.maxTime = maxTime
    }

    func matches(_ labels: Labels) -> Bool {
        matchers.allSatisfy { $0.matches(labels[$0.name] ?? "") }
    }
}

/// `muninn blocks dump`: the text `promtool tsdb dump` (2.42) prints for a
/// database, byte for byte: one line per float sample,
/// `{name="value", …} <Go %g value> <ms timestamp>`, series in label order,
/// each series' samples merged over every block and the head in time order with
/// duplicate timestamps printed once (the earliest source wins: blocks by ULID,
/// then the WAL, then the WBL). Block tombstones and WAL tombstones hide the
/// samples they cover. Only XOR (float) chunks are printed; histogram chunks are
/// skipped. Every chunk's CRC is checked; corrupt input throws a `FormatError`
/// and the output stops there. Files are only read.
package enum BlockDump {
    /// Dumps `database`: its blocks and, when it has `wal/`/`wbl/`, its head.
    /// `write` receives the output in pieces of about 1 MiB.
    package static func dump(
        _ database: BlockDiscovery.Database, selection: DumpSelection,
        write: ([UInt8]) throws -> Void
    ) throws {
        var sources: [Source] = []
        var newestMaxTime = Int64.min
        for block in database.blocks {
            let reader = try BlockReader(directory: block.directory)
            newestMaxTime = max(newestMaxTime, reader.meta.maxTime)
            guard reader.meta.maxTime > selection.minTime, reader.meta.minTime <= selection.maxTime else { continue }
            sources.append(try BlockSource(reader, selection))
        }
        if database.wal != nil || database.wbl != nil {
            let head = try HeadSamples(wal: database.wal, wbl: database.wbl, minValidTime: newestMaxTime)
            sources.append(HeadSource(head, selection))
        }
        var printer = Printer()
        var samples = SampleBuffer()
        while true {
            var lowest: Labels?
            for s in sources {
                if let l = s.labels, lowest.map({ l < $0 }) ?? true { lowest = l }
            }
            guard let labels = lowest else { break }
            samples.removeAll()
            for s in sources where s.labels == labels {
                try s.appendSamples(to: &samples, selection)
                try s.advance()
            }
            samples.sortAndDedupe()
            try printer.print(labels, samples, write)
        }
        try printer.finish(write)
    }
}

/// Timestamps and value bits of one series, in the order sources add them.
struct SampleBuffer {
    var timestamps: [Int64] = []
    var values: [UInt64] = []

    mutating func removeAll() {
        timestamps.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
    }

    /// Stable sort by timestamp keeping the first sample of each timestamp; a
    /// no-op (one pass) when already strictly increasing.
    mutating func sortAndDedupe() {
        var sorted = true
        for i in timestamps.indices.dropFirst() where timestamps[i] <= timestamps[i - 1] {
            sorted = false
            break
        }
        if sorted { return }
        let order = timestamps.indices.sorted { timestamps[$0] != timestamps[$1] ? timestamps[$0] < timestamps[$1] : $0 < $1 }
        var ts: [Int64] = [], vs: [UInt64] = []
        for i in order where ts.last != timestamps[i] {
            ts.append(timestamps[i])
            vs.append(values[i])
        }
        timestamps = ts
        values = vs
    }
}

/// One sorted stream of series.
protocol Source: AnyObject {
    /// The current series, nil when exhausted.
    var labels: Labels? { get }
    /// Appends the current series' selected samples.
    func appendSamples(to buffer: inout SampleBuffer, _ selection: DumpSelection) throws
    /// Moves to the next series; throws when it cannot be read.
    func advance() throws
}

private func deleted(_ t: Int64, _ intervals: [(Int64, Int64)]) -> Bool {
    intervals.contains { t >= $0.0 && t <= $0.1 }
}

/// A block's matching series in index (= label) order, chunks read through
/// `ChunkSegmentWindow`s.
final class BlockSource: Source {
    private let reader: BlockReader
    private let windows: [ChunkSegmentWindow]
    private let ids: [UInt32]
    private var position = 0
    private var current: IndexSeries?
    private let stones: [UInt32: [(Int64, Int64)]]
    private var scratch = XORScratch()

    init(_ reader: BlockReader, _ selection: DumpSelection) throws {
        self.reader = reader
        windows = try reader.segmentPaths.map { try ChunkSegmentWindow(path: $0) }
        ids = BlockPostings(index: reader.index).select(selection.matchers)
        var stones: [UInt32: [(Int64, Int64)]] = [:]
        for t in reader.tombstones { stones[UInt32(truncatingIfNeeded: t.seriesID), default: []].append((t.minTime, t.maxTime)) }
        self.stones = stones
        try load()
    }

    var labels: Labels? { current?.labels }

    func advance() throws {
        position += 1
        current = nil
        try load()
    }

    private func load() throws {
        current = position < ids.count ? try reader.index.series(ids[position]) : nil
    }

    func appendSamples(to buffer: inout SampleBuffer, _ selection: DumpSelection) throws {
        guard let series = current else { return }
        let intervals = stones[series.id] ?? []
        for chunk in series.chunks where chunk.maxTime >= selection.minTime && chunk.minTime <= selection.maxTime {
            guard chunk.ref.segment < windows.count else {
                throw FormatError(
                    file: reader.directory + "/chunks", offset: chunk.ref.offset,
                    reason: "chunk ref \(chunk.ref) names segment \(chunk.ref.segment), the block has \(windows.count)")
            }
            let window = windows[chunk.ref.segment]
            let record = try window.record(at: chunk.ref.offset)
            guard record.crcMatches else {
                throw FormatError(
                    file: window.path, offset: record.offset,
                    reason: ChunkSegment.crcMismatch(stored: record.storedCRC, computed: record.computedCRC))
            }
            guard record.encoding == ChunkEncoding.xor.rawValue else { continue }
            let n: Int
            do {
                n = try window.withData(record) { try scratch.decode($0) }
            } catch {
                throw FormatError(file: window.path, offset: record.offset, reason: "XOR chunk data: \(error)")
            }
            scratch.timestamps.withUnsafeBufferPointer { ts in
                scratch.values.withUnsafeBufferPointer { vs in
                    for i in 0..<n where ts[i] >= selection.minTime && ts[i] <= selection.maxTime {
                        if !intervals.isEmpty, deleted(ts[i], intervals) { continue }
                        buffer.timestamps.append(ts[i])
                        buffer.values.append(vs[i])
                    }
                }
            }
        }
    }
}

/// The head's matching series, sorted by labels.
final class HeadSource: Source {
    private let series: [(Labels, HeadSamples.Series)]
    private var position = 0

    init(_ head: HeadSamples, _ selection: DumpSelection) {
        series = head.series.filter { selection.matches($0.key) }.map { ($0.key, $0.value) }.sorted { $0.0 < $1.0 }
    }

    var labels: Labels? { position < series.count ? series[position].0 : nil }

    func advance() { position += 1 }

    func appendSamples(to buffer: inout SampleBuffer, _ selection: DumpSelection) {
        guard position < series.count else { return }
        let s = series[position].1
        for sample in s.inOrder + s.outOfOrder
        where sample.timestamp >= selection.minTime && sample.timestamp <= selection.maxTime && !deleted(sample.timestamp, s.deleted) {
            buffer.timestamps.append(sample.timestamp)
            buffer.values.append(sample.value.bitPattern)
        }
    }
}

/// Formats lines into a buffer handed to `write` about every 1 MiB.
private struct Printer {
    var out: [UInt8] = []
    var prefix: [UInt8] = []

    init() { out.reserveCapacity(1 << 20 + 4096) }

    mutating func print(_ labels: Labels, _ samples: SampleBuffer, _ write: ([UInt8]) throws -> Void) throws {
        guard !samples.timestamps.isEmpty else { return }
        prefix.removeAll(keepingCapacity: true)
        prefix.append(UInt8(ascii: "{"))
        for (i, l) in labels.labels.enumerated() {
            if i > 0 { prefix.append(contentsOf: [UInt8(ascii: ","), UInt8(ascii: " ")]) }
            prefix.append(contentsOf: l.name.utf8)
            prefix.append(UInt8(ascii: "="))
            GoText.appendQuoted(l.value, to: &prefix)
        }
        prefix.append(contentsOf: [UInt8(ascii: "}"), UInt8(ascii: " ")])
        for i in samples.timestamps.indices {
            out.append(contentsOf: prefix)
            GoText.appendFloat(Double(bitPattern: samples.values[i]), to: &out)
            out.append(UInt8(ascii: " "))
            GoText.appendInteger(samples.timestamps[i], to: &out)
            out.append(UInt8(ascii: "\n"))
            if out.count >= 1 << 20 {
                try write(out)
                out.removeAll(keepingCapacity: true)
            }
        }
    }

    mutating func finish(_ write: ([UInt8]) throws -> Void) throws {
        if !out.isEmpty { try write(out) }
        out.removeAll()
    }
}
