/// Per-request bounds of remote read, so one request cannot take the node's
/// memory or time: checked before a query runs (`RemoteReadRequest.validate`)
/// and while its response is produced (`SeriesCursor`, `SampledResponseEncoder`).
package struct RemoteReadLimits: Sendable, Equatable {
    /// Queries in one ReadRequest.
    package var maxQueries: Int
    /// Series in one response (all its queries together).
    package var maxSeries: Int
    /// Samples in one SAMPLES response (Prometheus's `remote_read_sample_limit`).
    package var maxSamples: Int
    /// Uncompressed bytes of one SAMPLES response; never above `RemoteRead.maxSampledBytes`.
    package var maxResponseBytes: Int
    /// Bytes of one STREAMED_XOR_CHUNKS frame (Prometheus's `remote_read_max_bytes_in_frame`).
    package var maxBytesInFrame: Int
    /// Wall time one request may take.
    package var timeout: Duration

    package init(
        maxQueries: Int = 16, maxSeries: Int = 100_000, maxSamples: Int = 50_000_000,
        maxResponseBytes: Int = 1 << 30, maxBytesInFrame: Int = ChunkedResponseWriter.defaultMaxFrameBytes,
        timeout: Duration = .seconds(120)
    ) {
        self.maxQueries = maxQueries
        self.maxSeries = maxSeries
        self.maxSamples = maxSamples
        self.maxResponseBytes = min(maxResponseBytes, RemoteRead.maxSampledBytes)
        self.maxBytesInFrame = maxBytesInFrame
        self.timeout = timeout
    }
}

extension RemoteReadRequest {
    /// Refuses what Prometheus and Mimir refuse before reading anything: more
    /// than `maxQueries` queries, a query whose matchers all match the empty
    /// string (it would select every series), a query ending before it starts.
    package func validate(_ limits: RemoteReadLimits) throws(RemoteReadError) {
        if queries.count > limits.maxQueries { throw .tooManyQueries(queries.count, limit: limits.maxQueries) }
        for (i, q) in queries.enumerated() {
            if !q.matchers.contains(where: { !$0.matchesEmpty }) { throw .noSelectiveMatcher(query: i) }
            if q.startMs > q.endMs { throw .startAfterEnd(query: i, startMs: q.startMs, endMs: q.endMs) }
        }
    }
}

/// Builds a SAMPLES response (a snappy-compressed ReadResponse: one QueryResult
/// per query, its series' samples in the query's range) series by series, refusing
/// with `ReadLimitError` as soon as it would hold more than `maxSamples`
/// samples or `maxResponseBytes` bytes, so memory stays within the limits.
package struct SampledResponseEncoder: Sendable {
    private let maxSamples: Int
    private let maxBytes: Int
    private var response = ProtobufWriter()
    /// The QueryResult being built; its length prefix is known only at its end.
    private var result = ProtobufWriter()
    package private(set) var samples = 0

    package init(maxSamples: Int = .max, maxResponseBytes: Int = RemoteRead.maxSampledBytes) {
        self.maxSamples = maxSamples
        maxBytes = min(maxResponseBytes, RemoteRead.maxSampledBytes)
    }

    /// Adds `series`' samples in [mint, maxt] to the current query's result
    /// (nothing when it has none there). Series must come sorted by labels.
    package mutating func add(_ series: SeriesData, mint: Int64, maxt: Int64) throws {
        let selected = try series.samples(mint: mint, maxt: maxt)
        guard !selected.isEmpty else { return }
        let (total, overflow) = samples.addingReportingOverflow(selected.count)
        if overflow || total > maxSamples { throw ReadLimitError.tooManySamples(limit: maxSamples) }
        var body = 0
        for label in series.labels.labels { body += ProtobufWriter.lengthDelimitedSize(1, length: RemoteRead.labelSize(label)) }
        for sample in selected { body += ProtobufWriter.lengthDelimitedSize(2, length: Self.sampleSize(sample)) }
        // Each count is bounded by the data it describes, far below Int.max;
        // the sum is compared before any byte is written.
        let seriesField = ProtobufWriter.lengthDelimitedSize(1, length: body)
        if projectedSize(resultBody: result.bytes.count + seriesField) > maxBytes {
            throw ReadLimitError.responseTooLarge(limit: maxBytes)
        }
        samples = total
        result.writeKey(1, .lengthDelimited)
        result.writeUvarint(UInt64(body))
        RemoteRead.writeLabels(series.labels, to: &result)
        for sample in selected {
            // TimeSeries.samples (2) → Sample{value (1) double, timestamp (2) int64}
            result.writeKey(2, .lengthDelimited)
            result.writeUvarint(UInt64(Self.sampleSize(sample)))
            result.writeDouble(1, sample.value)
            result.writeInt64(2, sample.timestamp)
        }
    }

    /// Closes the current query's result; the next `add` starts the next query's.
    package mutating func endQuery() throws {
        if projectedSize(resultBody: result.bytes.count) > maxBytes { throw ReadLimitError.responseTooLarge(limit: maxBytes) }
        response.writeKey(1, .lengthDelimited)
        response.writeUvarint(UInt64(result.bytes.count))
        response.writeRaw(result.bytes)
        result = ProtobufWriter()
    }

    /// The compressed response, once every query has ended.
    package func finish() -> [UInt8] { SnappyBlock.compress(response.bytes) }

    /// Bytes of the response once the current result, `resultBody` bytes long, is closed.
    private func projectedSize(resultBody: Int) -> Int {
        response.bytes.count + ProtobufWriter.lengthDelimitedSize(1, length: resultBody)
    }

    private static func sampleSize(_ sample: Sample) -> Int {
        (sample.value.bitPattern == 0 ? 0 : 9) + ProtobufWriter.int64Size(2, sample.timestamp)
    }
}
