import CStorage

/// A label set laid out for the C encoders: names and values back to back in
/// one byte buffer, described by `cs_wal_label` spans (which `cs_prompb_label`
/// aliases). The buffers are reused from one label set to the next.
struct LabelSpans {
    private var bytes: [UInt8] = []
    private var ranges: [(name: Range<Int>, value: Range<Int>)] = []
    private var spans: [cs_wal_label] = []

    /// Calls `body` with the spans of `labels` (valid only inside `body`) and
    /// the number of label bytes they cover.
    mutating func with<R>(_ labels: Labels, _ body: (UnsafeBufferPointer<cs_wal_label>, _ byteCount: Int) throws -> R) rethrows -> R {
        bytes.removeAll(keepingCapacity: true)
        ranges.removeAll(keepingCapacity: true)
        for label in labels.labels {
            let n = bytes.count
            bytes.append(contentsOf: label.name.utf8)
            let v = bytes.count
            bytes.append(contentsOf: label.value.utf8)
            ranges.append((n..<v, v..<bytes.count))
        }
        return try bytes.withUnsafeBufferPointer { b in
            spans.removeAll(keepingCapacity: true)
            for r in ranges {
                spans.append(
                    cs_wal_label(
                        name: cs_wal_str(ptr: b.baseAddress.map { $0 + r.name.lowerBound }, len: r.name.count),
                        value: cs_wal_str(ptr: b.baseAddress.map { $0 + r.value.lowerBound }, len: r.value.count)))
            }
            return try spans.withUnsafeBufferPointer { try body($0, b.count) }
        }
    }
}
