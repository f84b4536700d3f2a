import CStorage

/// A series record entry: a head series reference and its labels.
public struct WALSeries: Sendable, Equatable {
    public var ref: UInt64
    public var labels: Labels
    public init(ref: UInt64, labels: Labels) {
        self.ref = ref
        self.labels = labels
    }
}

/// A float sample of the series `ref`.
public struct WALSample: Sendable, Equatable {
    public var ref: UInt64
    public var timestamp: Int64
    public var value: Double
    public init(ref: UInt64, timestamp: Int64, value: Double) {
        self.ref = ref
        self.timestamp = timestamp
        self.value = value
    }
    public static func == (a: WALSample, b: WALSample) -> Bool {
        a.ref == b.ref && a.timestamp == b.timestamp && a.value.bitPattern == b.value.bitPattern
    }
}

/// A deletion of the series `ref`'s samples in [minTime, maxTime].
public struct WALTombstone: Sendable, Equatable {
    public var ref: UInt64
    public var minTime: Int64
    public var maxTime: Int64
    public init(ref: UInt64, minTime: Int64, maxTime: Int64) {
        self.ref = ref
        self.minTime = minTime
        self.maxTime = maxTime
    }
}

/// A decoded WAL record. Type numbers are Prometheus's (`docs/format/wal.md`);
/// types this version does not decode are kept as raw bytes and skipped by replay.
public enum WALRecord: Sendable, Equatable {
    case series([WALSeries])
    case samples([WALSample])
    case tombstones([WALTombstone])
    case other(type: UInt8, bytes: [UInt8])

    public enum RecordType: UInt8, Sendable {
        case series = 1, samples = 2, tombstones = 3, exemplars = 4, mmapMarkers = 5
        case metadata = 6, histogramSamples = 7, floatHistogramSamples = 8
    }

    /// The uncompressed record bytes (type byte first).
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        switch self {
        case .series(let entries): WALRecord.appendSeries(entries, to: &out)
        case .samples(let samples): WALRecord.appendSamples(samples, to: &out)
        case .tombstones(let stones): WALRecord.appendTombstones(stones, to: &out)
        case .other(_, let bytes): out = bytes
        }
        return out
    }

    static func appendSeries(_ entries: [WALSeries], to out: inout [UInt8]) {
        out.append(RecordType.series.rawValue)
        var labels = LabelSpans()
        for entry in entries {
            labels.with(entry.labels) { spans, byteCount in
                let size = 8 + Int(CS_UVARINT_MAX) + byteCount + 2 * Int(CS_UVARINT_MAX) * spans.count
                let start = out.count
                out.append(contentsOf: repeatElement(0, count: size))
                let written = out.withUnsafeMutableBufferPointer { o in
                    cs_wal_series_append(o.baseAddress! + start, size, entry.ref, spans.baseAddress, spans.count)
                }
                precondition(written >= 0, "series entry bound")
                out.removeLast(size - Int(written))
            }
        }
    }

    /// A samples record straight from parallel arrays (value bit patterns).
    public static func encodeSamples(refs: [UInt64], timestamps: [Int64], values: [UInt64]) -> [UInt8] {
        var out: [UInt8] = []
        appendSamples(refs: refs, ts: timestamps, vs: values, to: &out)
        return out
    }

    static func appendSamples(_ samples: [WALSample], to out: inout [UInt8]) {
        appendSamples(refs: samples.map(\.ref), ts: samples.map(\.timestamp), vs: samples.map(\.value.bitPattern), to: &out)
    }

    static func appendSamples(refs: [UInt64], ts: [Int64], vs: [UInt64], to out: inout [UInt8]) {
        precondition(refs.count == ts.count && ts.count == vs.count)
        let bound = cs_wal_samples_bound(refs.count)
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: bound))
        let written = out.withUnsafeMutableBufferPointer { b in
            cs_wal_samples_encode(b.baseAddress! + start, bound, refs, ts, vs, refs.count)
        }
        precondition(written >= 0, "samples bound")
        out.removeLast(bound - Int(written))
    }

    static func appendTombstones(_ stones: [WALTombstone], to out: inout [UInt8]) {
        let cStones = stones.map { cs_wal_tombstone(ref: $0.ref, mint: $0.minTime, maxt: $0.maxTime) }
        let bound = cs_wal_tombstones_bound(stones.count)
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: bound))
        let written = out.withUnsafeMutableBufferPointer { b in
            cs_wal_tombstones_encode(b.baseAddress! + start, bound, cStones, cStones.count)
        }
        precondition(written >= 0, "tombstones bound")
        out.removeLast(bound - Int(written))
    }

    /// Decodes uncompressed record bytes. Throws on truncated or malformed records.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(CodecError) -> WALRecord {
        let rec = bytes.bindMemory(to: UInt8.self)
        guard let base = rec.baseAddress, rec.count > 0 else { throw CodecError(code: CS_E_SHORT) }
        switch RecordType(rawValue: rec[0]) {
        case .series:
            var entries: [WALSeries] = []
            try forEachSeries(bytes) { ref, spans in
                // Writers store labels sorted by name; keep them as stored.
                entries.append(
                    WALSeries(
                        ref: ref,
                        labels: Labels(
                            sorted: spans.map {
                                Label(string($0.name), string($0.value))
                            })))
            }
            return .series(entries)
        case .samples:
            let cap = cs_wal_samples_count_max(rec.count)
            var refs = [UInt64](repeating: 0, count: cap)
            var ts = [Int64](repeating: 0, count: cap)
            var vs = [UInt64](repeating: 0, count: cap)
            let n = Int(try CodecError.check(cs_wal_samples_decode(base, rec.count, &refs, &ts, &vs, cap)))
            return .samples((0..<n).map { WALSample(ref: refs[$0], timestamp: ts[$0], value: Double(bitPattern: vs[$0])) })
        case .tombstones:
            let cap = cs_wal_tombstones_count_max(rec.count)
            var out = [cs_wal_tombstone](repeating: cs_wal_tombstone(), count: cap)
            let n = Int(try CodecError.check(cs_wal_tombstones_decode(base, rec.count, &out, cap)))
            return .tombstones(out[0..<n].map { WALTombstone(ref: $0.ref, minTime: $0.mint, maxTime: $0.maxt) })
        default:
            return .other(type: rec[0], bytes: Array(rec))
        }
    }

    public static func decode(_ bytes: [UInt8]) throws(CodecError) -> WALRecord {
        try bytes.withUnsafeBufferPointer { (b) throws(CodecError) in try decode(UnsafeRawBufferPointer(b)) }
    }

    /// Calls `body` with each entry of a series record: its ref and its label
    /// spans, which point into `record` and are valid only during the call.
    package static func forEachSeries(
        _ record: UnsafeRawBufferPointer,
        _ body: (UInt64, UnsafeBufferPointer<cs_wal_label>) -> Void
    ) throws(CodecError) {
        let rec = record.bindMemory(to: UInt8.self)
        var it = cs_wal_series_iter()
        try CodecError.check(cs_wal_series_iter_init(&it, rec.baseAddress, rec.count))
        var spans = [cs_wal_label](repeating: cs_wal_label(), count: 64)
        while true {
            var ref: UInt64 = 0, n = 0
            // An entry cannot have more labels than its record has bytes.
            let rc = try growOnNoSpace(
                limit: rec.count, needed: { n },
                grow: {
                    spans = [cs_wal_label](repeating: cs_wal_label(), count: $0)
                }
            ) { cs_wal_series_next(&it, &ref, &spans, spans.count, &n) }
            if rc == 0 { return }
            try CodecError.check(rc)
            spans.withUnsafeBufferPointer { body(ref, UnsafeBufferPointer(rebasing: $0[0..<n])) }
        }
    }

    private static func string(_ s: cs_wal_str) -> String {
        guard let p = s.ptr, s.len > 0 else { return "" }
        return String(decoding: UnsafeBufferPointer(start: p, count: s.len), as: UTF8.self)
    }
}

/// Decodes samples records into buffers reused across records: replay's hot
/// path, with no allocation per record once the buffers have grown.
public struct WALSamplesDecoder {
    public private(set) var refs: [UInt64] = []
    public private(set) var timestamps: [Int64] = []
    /// Value bit patterns.
    public private(set) var values: [UInt64] = []
    public private(set) var count = 0

    public init() {}

    /// Decodes one samples record (type byte first); `count` and the first
    /// `count` entries of the buffers hold the result.
    public mutating func decode(_ record: UnsafeRawBufferPointer) throws(CodecError) {
        let rec = record.bindMemory(to: UInt8.self)
        let cap = cs_wal_samples_count_max(rec.count)
        if refs.count < cap {
            refs = [UInt64](repeating: 0, count: cap)
            timestamps = [Int64](repeating: 0, count: cap)
            values = [UInt64](repeating: 0, count: cap)
        }
        let n = refs.withUnsafeMutableBufferPointer { r in
            timestamps.withUnsafeMutableBufferPointer { t in
                values.withUnsafeMutableBufferPointer { v in
                    cs_wal_samples_decode(rec.baseAddress, rec.count, r.baseAddress, t.baseAddress, v.baseAddress, r.count)
                }
            }
        }
        count = Int(try CodecError.check(n))
    }
}
