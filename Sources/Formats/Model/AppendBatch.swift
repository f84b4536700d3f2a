import CStorage

/// Samples for many series, committed together. Series are named by labels
/// (sorted, unique names), by raw UTF-8 label bytes (remote write's decoded
/// body, so a known series is found without making a `String`), or by a ref
/// an earlier commit returned.
public struct AppendBatch: Sendable {
    @usableFromInline package struct Entry: Sendable {
        @usableFromInline package var labels: Labels?
        @usableFromInline package var ref: UInt64
        @usableFromInline package var range: Range<Int>
        /// Into `spans`, for entries named by raw label bytes.
        @usableFromInline package var spans: Range<Int> = 0..<0

        @inlinable init(labels: Labels?, ref: UInt64, range: Range<Int>, spans: Range<Int> = 0..<0) {
            self.labels = labels
            self.ref = ref
            self.range = range
            self.spans = spans
        }
    }

    /// One label as byte ranges of `labelBytes`.
    package struct LabelSpan: Sendable {
        package var nameStart: UInt32, nameCount: UInt32, valueStart: UInt32, valueCount: UInt32
    }

    // Settable in the module so the `add` methods below can be inlined into callers.
    @usableFromInline package internal(set) var entries: [Entry] = []
    @usableFromInline package internal(set) var samples: [Sample] = []
    /// Label bytes the raw entries point into (remote write's decompressed body).
    package private(set) var labelBytes: [UInt8] = []
    package private(set) var spans: [LabelSpan] = []

    public init() {}

    @inlinable public mutating func add<C: Collection>(_ labels: Labels, _ samples: C) where C.Element == Sample {
        let start = self.samples.count
        self.samples.append(contentsOf: samples)
        entries.append(Entry(labels: labels, ref: 0, range: start..<self.samples.count))
    }

    @inlinable public mutating func add<C: Collection>(ref: UInt64, _ samples: C) where C.Element == Sample {
        let start = self.samples.count
        self.samples.append(contentsOf: samples)
        entries.append(Entry(labels: nil, ref: ref, range: start..<self.samples.count))
    }

    @inlinable public mutating func add(_ labels: Labels, timestamp: Int64, value: Double) {
        samples.append(Sample(timestamp: timestamp, value: value))
        entries.append(Entry(labels: labels, ref: 0, range: samples.count - 1..<samples.count))
    }

    @inlinable public mutating func add(ref: UInt64, timestamp: Int64, value: Double) {
        samples.append(Sample(timestamp: timestamp, value: value))
        entries.append(Entry(labels: nil, ref: ref, range: samples.count - 1..<samples.count))
    }

    /// Sets the bytes that `addRaw` spans index. The caller guarantees the
    /// spans it adds are valid, sorted, unique-named labels (checked with
    /// cs_prompb_check_labels) with non-empty values.
    mutating func setLabelBytes(_ bytes: [UInt8]) { labelBytes = bytes }

    /// Adds a series named by decoded remote-write labels (spans into the
    /// label bytes, which start at `base`; empty values are left out) with
    /// samples in `ts`/`vals` (time, value bits).
    mutating func addRaw(
        _ labels: UnsafeBufferPointer<cs_prompb_label>, base: UnsafePointer<UInt8>,
        ts: UnsafeBufferPointer<Int64>, vals: UnsafeBufferPointer<UInt64>
    ) {
        let spanStart = spans.count
        for l in labels where l.value.len > 0 {
            spans.append(
                LabelSpan(
                    nameStart: l.name.len > 0 ? UInt32(l.name.ptr! - base) : 0, nameCount: UInt32(l.name.len),
                    valueStart: UInt32(l.value.ptr! - base), valueCount: UInt32(l.value.len)))
        }
        let start = samples.count
        for i in 0..<ts.count { samples.append(Sample(timestamp: ts[i], valueBits: vals[i])) }
        entries.append(Entry(labels: nil, ref: 0, range: start..<samples.count, spans: spanStart..<spans.count))
    }

    /// Reserves room for `series` entries and `samples` samples.
    public mutating func reserveCapacity(series: Int, samples: Int) {
        entries.reserveCapacity(series)
        self.samples.reserveCapacity(samples)
    }

    /// The labels of a raw entry, as values (for new series and messages).
    package func labels(ofSpans range: Range<Int>) -> Labels {
        labelBytes.withUnsafeBufferPointer { b in
            Labels(
                sorted: spans[range].map { s in
                    Label(
                        String(decoding: UnsafeBufferPointer(rebasing: b[Int(s.nameStart)..<Int(s.nameStart + s.nameCount)]), as: UTF8.self),
                        String(decoding: UnsafeBufferPointer(rebasing: b[Int(s.valueStart)..<Int(s.valueStart + s.valueCount)]), as: UTF8.self))
                })
        }
    }

    public var sampleCount: Int { samples.count }
    public var seriesCount: Int { entries.count }
    public var isEmpty: Bool { samples.isEmpty }
}
