import CStorage

#if canImport(Glibc)
    import Glibc
#endif

// Prometheus remote write 1.0 (prometheus.WriteRequest, docs/format/remote-write.md): the
// snappy body ↔ Swift values. Decoding, framing checks and label checks run in
// C (cs_snappy.h, cs_prompb.h); this file turns their results into Swift values
// and error messages. HTTP handling lives in Node.

/// Remote write's body codec.
public enum RemoteWrite {
    /// Decodes a snappy-compressed WriteRequest. The body is refused before
    /// anything is allocated for it when its announced decompressed size
    /// exceeds `maxDecodedBytes` (or could not come from a body this small).
    ///
    /// Framing errors (truncated or malformed protobuf) refuse the whole
    /// request. Label problems do not: each series carries its own
    /// `labelError`, so a caller can store the valid series and report the
    /// first invalid one (`RemoteWriteRequest.firstLabelError`). Safe to call
    /// concurrently.
    public static func decode(snappyBody: [UInt8], maxDecodedBytes: Int) throws(RemoteWriteError) -> RemoteWriteRequest {
        let plain = try decompress(snappyBody, maxDecodedBytes: maxDecodedBytes)
        return try decode(protobuf: plain)
    }

    /// Decodes an uncompressed WriteRequest, as `decode(snappyBody:maxDecodedBytes:)`.
    public static func decode(protobuf: [UInt8]) throws(RemoteWriteError) -> RemoteWriteRequest {
        try protobuf.withUnsafeBufferPointer { (buf) throws(RemoteWriteError) in try decode(buf) }
    }

    /// A snappy-compressed WriteRequest holding each series' labels (as given,
    /// empty values omitted as on the wire) and samples (exact value bits).
    /// Exemplar, histogram and metadata counts and label errors are not encoded.
    public static func encode(_ request: RemoteWriteRequest) -> [UInt8] {
        SnappyBlock.compress(encodeProtobuf(request))
    }

    /// The uncompressed WriteRequest that `encode(_:)` compresses.
    public static func encodeProtobuf(_ request: RemoteWriteRequest) -> [UInt8] {
        var out: [UInt8] = []
        var labels = LabelSpans()
        var timestamps: [Int64] = []
        var values: [UInt64] = []
        for series in request.series {
            timestamps.removeAll(keepingCapacity: true)
            values.removeAll(keepingCapacity: true)
            for sample in series.samples {
                timestamps.append(sample.timestamp)
                values.append(sample.value.bitPattern)
            }
            labels.with(series.labels) { spans, _ in
                let size = cs_prompb_series_size(spans.baseAddress, spans.count, timestamps, values, values.count)
                precondition(size > 0, "remote write series too large to encode")
                let start = out.count
                out.append(contentsOf: repeatElement(0, count: size))
                let written = out.withUnsafeMutableBufferPointer { o in
                    cs_prompb_encode_series(
                        o.baseAddress! + start, size, spans.baseAddress, spans.count,
                        timestamps, values, values.count)
                }
                precondition(written == size, "remote write series size")
            }
        }
        return out
    }

    // MARK: - Snappy

    static func decompress(_ body: [UInt8], maxDecodedBytes: Int) throws(RemoteWriteError) -> [UInt8] {
        do {
            return try SnappyBlock.decompress(body, maxDecodedBytes: maxDecodedBytes)
        } catch {
            if case let .tooLarge(announced, limit) = error {
                throw RemoteWriteError(.tooLarge(decodedBytes: announced, limit: limit), error.description)
            }
            throw RemoteWriteError(.snappy, "body is not a valid snappy block: \(error)")
        }
    }

    // MARK: - Protobuf

    private static func decode(_ buf: UnsafeBufferPointer<UInt8>) throws(RemoteWriteError) -> RemoteWriteRequest {
        var request = RemoteWriteRequest()
        request.metadataCount = try forEachSeries(buf) { s, spans, ts, vals in
            let index = request.series.count
            let samples = (0..<ts.count).map { Sample(timestamp: ts[$0], valueBits: vals[$0]) }
            let (labels, labelError) = makeLabels(spans, series: index)
            request.series.append(
                RemoteWriteSeries(
                    labels: labels, samples: samples,
                    exemplarCount: s.n_exemplars,
                    histogramCount: s.n_histograms,
                    labelError: labelError))
            request.exemplarCount += s.n_exemplars
            request.histogramCount += s.n_histograms
        }
        return request
    }

    /// Decodes a snappy-compressed WriteRequest straight into an append
    /// batch: valid series keep their labels as byte ranges of the
    /// decompressed body, so a series the head already holds is found without
    /// making a `String`. Errors as `decode(snappyBody:maxDecodedBytes:)`;
    /// refused series are left out and reported in the result. Safe to call
    /// concurrently.
    ///
    /// With `requireMetricName`, a series without a non-empty `__name__` is
    /// refused as well (Mimir's "sample missing metric name"); Prometheus's own
    /// receiver accepts such series.
    public static func decodeBatch(
        snappyBody: [UInt8], maxDecodedBytes: Int,
        requireMetricName: Bool = false
    ) throws(RemoteWriteError) -> RemoteWriteBatch {
        // Label offsets are 32-bit.
        let plain = try decompress(snappyBody, maxDecodedBytes: min(maxDecodedBytes, Int(UInt32.max)))
        var result = RemoteWriteBatch()
        try plain.withUnsafeBufferPointer { (buf) throws(RemoteWriteError) in
            result.batch.reserveCapacity(series: buf.count / 64, samples: buf.count / 32)
            guard let base = buf.baseAddress else { return }
            result.metadataCount = try forEachSeries(buf) { s, spans, ts, vals in
                result.sampleCount += ts.count
                result.exemplarCount += s.n_exemplars
                result.histogramCount += s.n_histograms
                var index = 0
                let code = cs_prompb_check_labels(spans.baseAddress, spans.count, &index)
                guard code == CS_PROMPB_LABELS_OK || code == CS_PROMPB_LABELS_EMPTY_VALUE else {
                    result.invalidSamples += ts.count
                    if result.firstLabelError == nil { result.firstLabelError = makeLabels(spans, series: result.seriesCount).1 }
                    result.seriesCount += 1
                    return
                }
                if requireMetricName, !hasMetricName(spans) {
                    result.invalidSamples += ts.count
                    if result.firstLabelError == nil {
                        let labels = makeLabels(spans, series: result.seriesCount).0
                        result.firstLabelError = RemoteWriteError(
                            .invalidLabels(series: result.seriesCount, label: 0, problem: .missingMetricName),
                            labelMessage(.missingMetricName, series: result.seriesCount, index: 0, label: nil, labels: labels))
                    }
                    result.seriesCount += 1
                    return
                }
                result.seriesCount += 1
                result.batch.addRaw(spans, base: base, ts: ts, vals: vals)
            }
        }
        result.batch.setLabelBytes(plain)
        return result
    }

    /// Calls `body` with each TimeSeries' labels (wire order) and samples;
    /// returns the metadata count.
    private static func forEachSeries(
        _ buf: UnsafeBufferPointer<UInt8>,
        _ body: (cs_prompb_series, UnsafeBufferPointer<cs_prompb_label>, UnsafeBufferPointer<Int64>, UnsafeBufferPointer<UInt64>) -> Void
    ) throws(RemoteWriteError) -> Int {
        var it = cs_prompb_iter()
        cs_prompb_iter_init(&it, buf.baseAddress, buf.count)
        var spans = [cs_prompb_label](repeating: cs_prompb_label(), count: 64)
        var timestamps = [Int64](repeating: 0, count: 256)
        var values = [UInt64](repeating: 0, count: 256)
        var s = cs_prompb_series()
        while true {
            let rc: Int32
            do {
                // A series cannot hold more labels or samples than the body has bytes.
                rc = try growOnNoSpace(
                    limit: buf.count, needed: { max(s.n_labels, s.n_samples) },
                    grow: { _ in
                        if s.n_labels > spans.count {
                            spans = [cs_prompb_label](repeating: cs_prompb_label(), count: s.n_labels)
                        }
                        if s.n_samples > values.count {
                            timestamps = [Int64](repeating: 0, count: s.n_samples)
                            values = [UInt64](repeating: 0, count: s.n_samples)
                        }
                    }
                ) { next(&it, &s, &spans, &timestamps, &values) }
            } catch {
                throw protobufError(it, code: error.code, size: buf.count)
            }
            if rc == 0 { break }
            guard rc == 1 else { throw protobufError(it, code: rc, size: buf.count) }
            spans.withUnsafeBufferPointer { l in
                timestamps.withUnsafeBufferPointer { t in
                    values.withUnsafeBufferPointer { v in
                        body(
                            s, UnsafeBufferPointer(rebasing: l[0..<s.n_labels]),
                            UnsafeBufferPointer(rebasing: t[0..<s.n_samples]),
                            UnsafeBufferPointer(rebasing: v[0..<s.n_samples]))
                    }
                }
            }
        }
        return it.n_metadata
    }

    private static func next(
        _ it: inout cs_prompb_iter, _ s: inout cs_prompb_series, _ spans: inout [cs_prompb_label],
        _ timestamps: inout [Int64], _ values: inout [UInt64]
    ) -> Int32 {
        let labelCap = spans.count, sampleCap = values.count
        return cs_prompb_next(&it, &s, &spans, labelCap, &timestamps, &values, sampleCap)
    }

    private static func protobufError(_ it: cs_prompb_iter, code: Int32, size: Int) -> RemoteWriteError {
        let what = it.err_what.map { String(cString: $0) } ?? "message"
        let error = CodecError(code: code)
        return RemoteWriteError(
            .protobuf(error.kind, offset: it.err_offset),
            "protobuf \(error) at byte \(it.err_offset) of \(size) (decompressed body): \(what)")
    }

    /// Labels of one series and, when they are refused, why. Valid series
    /// lose their empty-valued labels, as Prometheus drops them.
    /// True when a `__name__` label with a non-empty value is among `spans`.
    private static func hasMetricName(_ spans: UnsafeBufferPointer<cs_prompb_label>) -> Bool {
        spans.contains { l in
            l.name.len == 8 && l.value.len > 0 && memcmp(l.name.ptr, "__name__", 8) == 0
        }
    }

    private static func makeLabels(
        _ spans: UnsafeBufferPointer<cs_prompb_label>,
        series: Int
    ) -> (Labels, RemoteWriteError?) {
        var index = 0
        let code = cs_prompb_check_labels(spans.baseAddress, spans.count, &index)
        switch code {
        case CS_PROMPB_LABELS_OK, CS_PROMPB_LABELS_EMPTY_VALUE:
            var labels: [Label] = []
            labels.reserveCapacity(spans.count)
            for span in spans where span.value.len > 0 {
                labels.append(Label(string(span.name), string(span.value)))
            }
            return (Labels(sorted: labels), nil)
        default:
            let labels = Labels(sorted: spans.map { Label(string($0.name), string($0.value)) })
            let problem = LabelProblem(code: code)
            let label = index < labels.labels.count ? labels.labels[index] : nil
            return (
                labels,
                RemoteWriteError(
                    .invalidLabels(series: series, label: index, problem: problem),
                    labelMessage(problem, series: series, index: index, label: label, labels: labels))
            )
        }
    }

    private static func labelMessage(_ problem: LabelProblem, series: Int, index: Int, label: Label?, labels: Labels) -> String {
        let name = label.map { Label.quote($0.name) } ?? "\"\""
        let value = label.map { Label.quote(String($0.value.prefix(256))) } ?? "\"\""
        let detail: String
        switch problem {
        case .noLabels: detail = "no labels (labels with empty values do not count)"
        case .missingMetricName: detail = "no metric name (a __name__ label with a value)"
        case .emptyName: detail = "label \(index) has an empty name"
        case .invalidNameUTF8: detail = "label \(index) name is not valid UTF-8"
        case .invalidName: detail = "invalid label name \(name) (label \(index); must match [a-zA-Z_][a-zA-Z0-9_]*)"
        case .invalidValueUTF8: detail = "value of label \(name) (label \(index)) is not valid UTF-8"
        case .invalidMetricName: detail = "invalid metric name \(value) (must match [a-zA-Z_:][a-zA-Z0-9_:]*)"
        case .unsorted:
            let previous = labels.labels[..<index].last { !$0.value.isEmpty }.map { Label.quote($0.name) } ?? "\"\""
            detail = "labels not sorted by name: \(name) (label \(index)) after \(previous)"
        case .duplicate: detail = "duplicate label name \(name) (label \(index))"
        }
        var shown = labels.description
        if shown.count > 1024 { shown = String(shown.prefix(1024)) + "…" }
        return "series \(series) \(shown): \(detail)"
    }

    private static func string(_ s: cs_prompb_str) -> String {
        guard let p = s.ptr, s.len > 0 else { return "" }
        return String(decoding: UnsafeBufferPointer(start: p, count: s.len), as: UTF8.self)
    }
}

/// A WriteRequest decoded for appending (`RemoteWrite.decodeBatch`).
public struct RemoteWriteBatch: Sendable {
    /// The valid series.
    public internal(set) var batch = AppendBatch()
    /// TimeSeries in the request, valid or not.
    public internal(set) var seriesCount = 0
    /// Float samples in the request, valid or not.
    public internal(set) var sampleCount = 0
    /// Samples of series whose labels were refused.
    public internal(set) var invalidSamples = 0
    /// The first refused series, as the error to report.
    public internal(set) var firstLabelError: RemoteWriteError?
    /// Counted, not decoded (Muninn stores floats only).
    public internal(set) var exemplarCount = 0
    public internal(set) var histogramCount = 0
    public internal(set) var metadataCount = 0
}

/// A decoded WriteRequest.
public struct RemoteWriteRequest: Sendable, Equatable {
    public var series: [RemoteWriteSeries]
    /// Totals over all series (counted, not decoded: Muninn stores floats only).
    public var exemplarCount: Int
    public var histogramCount: Int
    /// MetricMetadata entries (counted, not decoded).
    public var metadataCount: Int

    public init(series: [RemoteWriteSeries] = [], exemplarCount: Int = 0, histogramCount: Int = 0, metadataCount: Int = 0) {
        self.series = series
        self.exemplarCount = exemplarCount
        self.histogramCount = histogramCount
        self.metadataCount = metadataCount
    }

    /// Float samples in all series, valid or not.
    public var sampleCount: Int { series.reduce(0) { $0 + $1.samples.count } }

    /// The first series whose labels are refused, as the error to report.
    public var firstLabelError: RemoteWriteError? { series.lazy.compactMap(\.labelError).first }
}

/// One TimeSeries of a WriteRequest.
public struct RemoteWriteSeries: Sendable, Equatable {
    /// In wire order. For a valid series: sorted, unique, empty values dropped.
    public var labels: Labels
    /// In wire order, value bits exact.
    public var samples: [Sample]
    public var exemplarCount: Int
    public var histogramCount: Int
    /// Why this series must not be stored (an `.invalidLabels` error), or nil.
    public var labelError: RemoteWriteError?

    public init(
        labels: Labels, samples: [Sample], exemplarCount: Int = 0, histogramCount: Int = 0,
        labelError: RemoteWriteError? = nil
    ) {
        self.labels = labels
        self.samples = samples
        self.exemplarCount = exemplarCount
        self.histogramCount = histogramCount
        self.labelError = labelError
    }

    public var isValid: Bool { labelError == nil }
}

/// Why a series' labels are refused (cs_prompb_check_labels).
public enum LabelProblem: String, Sendable, Equatable, CaseIterable {
    case noLabels = "no-labels"
    case emptyName = "empty-label-name"
    case invalidNameUTF8 = "label-name-invalid-utf8"
    case invalidName = "label-name-invalid"
    case invalidValueUTF8 = "label-value-invalid-utf8"
    case invalidMetricName = "metric-name-invalid"
    case unsorted = "labels-not-sorted"
    case duplicate = "duplicate-label-name"
    /// Not from cs_prompb_check_labels: the ingest policy of `decodeBatch`.
    case missingMetricName = "missing-metric-name"

    init(code: Int32) {
        switch code {
        case CS_PROMPB_LABELS_NONE: self = .noLabels
        case CS_PROMPB_LABELS_EMPTY_NAME: self = .emptyName
        case CS_PROMPB_LABELS_BAD_NAME_UTF8: self = .invalidNameUTF8
        case CS_PROMPB_LABELS_BAD_NAME: self = .invalidName
        case CS_PROMPB_LABELS_BAD_VALUE_UTF8: self = .invalidValueUTF8
        case CS_PROMPB_LABELS_BAD_METRIC: self = .invalidMetricName
        case CS_PROMPB_LABELS_UNSORTED: self = .unsorted
        default: self = .duplicate
        }
    }
}

/// A refused remote-write body or series. `description` is the message for
/// the HTTP 400 body: what was wrong, where (byte offset in the decompressed
/// body, or series and label index).
public struct RemoteWriteError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The decompressed body would exceed the caller's limit.
        case tooLarge(decodedBytes: Int, limit: Int)
        /// Not a valid snappy block.
        case snappy
        /// The protobuf is truncated (`.truncated`), malformed (`.corrupt`) or
        /// has an over-long varint (`.overflow`) at this decompressed offset.
        case protobuf(CodecError.Kind, offset: Int)
        /// Series `series` (0-based, wire order) has a bad label at index `label`.
        case invalidLabels(series: Int, label: Int, problem: LabelProblem)
    }

    public let kind: Kind
    public let message: String

    init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
