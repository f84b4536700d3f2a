// Prometheus remote read (prompb/remote.proto; docs/format/remote-read.md): the request
// decoder and the two response encoders. HTTP handling lives in Node.

/// Remote read's HTTP constants and the SAMPLES response encoder.
package enum RemoteRead {
    /// Content type of a request and of a SAMPLES response (both snappy-encoded).
    package static let protobufContentType = "application/x-protobuf"
    /// Content type of a STREAMED_XOR_CHUNKS response (not compressed).
    package static let streamedContentType = "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse"
    /// `Content-Encoding` of a request and of a SAMPLES response.
    package static let contentEncoding = "snappy"
    /// `X-Prometheus-Remote-Read-Version` that clients send.
    package static let version = "0.1.0"

    /// The largest uncompressed SAMPLES response: a snappy block holds at most
    /// 4 GiB - 1 bytes.
    package static let maxSampledBytes = Int(UInt32.max)

    /// Label fields (number 1, as in TimeSeries and ChunkedSeries), in the
    /// order `labels` keeps (sorted by name).
    static func writeLabels(_ labels: Labels, to writer: inout ProtobufWriter) {
        for label in labels.labels {
            writer.writeKey(1, .lengthDelimited)
            writer.writeUvarint(UInt64(labelSize(label)))
            writer.writeString(1, label.name)
            writer.writeString(2, label.value)
        }
    }

    /// Bytes of one Label message body.
    static func labelSize(_ label: Label) -> Int {
        let name = label.name.utf8.count, value = label.value.utf8.count
        return (name == 0 ? 0 : ProtobufWriter.lengthDelimitedSize(1, length: name))
            + (value == 0 ? 0 : ProtobufWriter.lengthDelimitedSize(2, length: value))
    }
}

// MARK: - Request

/// A decoded ReadRequest.
package struct RemoteReadRequest: Sendable, Equatable {
    /// ReadRequest.ResponseType; numbers fixed by prompb.
    package enum ResponseType: UInt64, Sendable {
        case samples = 0
        case streamedXORChunks = 1
    }

    /// ReadHints: what the PromQL engine will do with the data. Advisory only.
    package struct Hints: Sendable, Equatable {
        package var stepMs: Int64
        package var function: String
        package var startMs: Int64
        package var endMs: Int64
        package var grouping: [String]
        package var by: Bool
        package var rangeMs: Int64

        package init(
            stepMs: Int64 = 0, function: String = "", startMs: Int64 = 0, endMs: Int64 = 0,
            grouping: [String] = [], by: Bool = false, rangeMs: Int64 = 0
        ) {
            self.stepMs = stepMs
            self.function = function
            self.startMs = startMs
            self.endMs = endMs
            self.grouping = grouping
            self.by = by
            self.rangeMs = rangeMs
        }
    }

    package struct Query: Sendable, Equatable {
        /// Inclusive bounds in ms; `validate` refuses start > end.
        package var startMs: Int64
        package var endMs: Int64
        package var matchers: [LabelMatcher]
        /// Nil when the query carried no hints.
        package var hints: Hints?

        package init(startMs: Int64, endMs: Int64, matchers: [LabelMatcher], hints: Hints? = nil) {
            self.startMs = startMs
            self.endMs = endMs
            self.matchers = matchers
            self.hints = hints
        }
    }

    package var queries: [Query]
    /// The client's accepted response types that this server knows, in the
    /// client's order of preference.
    package var acceptedResponseTypes: [ResponseType]
    /// Accepted response types this server does not know (newer protocols), as sent.
    package var unsupportedResponseTypes: [UInt64]

    package init(queries: [Query], acceptedResponseTypes: [ResponseType] = [], unsupportedResponseTypes: [UInt64] = []) {
        self.queries = queries
        self.acceptedResponseTypes = acceptedResponseTypes
        self.unsupportedResponseTypes = unsupportedResponseTypes
    }

    /// The response to send, as Prometheus negotiates it: the client's first
    /// accepted type this server supports, SAMPLES when the client listed
    /// none, nil when it listed only unknown ones (Prometheus answers 400).
    package var negotiatedResponseType: ResponseType? {
        if acceptedResponseTypes.isEmpty && unsupportedResponseTypes.isEmpty { return .samples }
        return acceptedResponseTypes.first
    }

    /// Decodes a request body: snappy block format around a ReadRequest. The
    /// decoded size is checked against `maxDecodedBytes` before anything is
    /// allocated. Every error is the client's fault (HTTP 400).
    package static func decode(snappyBody: [UInt8], maxDecodedBytes: Int) throws(RemoteReadError) -> RemoteReadRequest {
        let plain: [UInt8]
        do { plain = try SnappyBlock.decompress(snappyBody, maxDecodedBytes: maxDecodedBytes) } catch {
            if case let .tooLarge(announced, limit) = error { throw .tooLarge(decodedBytes: announced, limit: limit) }
            throw .badSnappy(error.description)
        }
        return try decode(protobuf: plain)
    }

    /// Decodes an uncompressed ReadRequest. Matchers are compiled here, so an
    /// invalid regex is reported before any query runs.
    package static func decode(protobuf bytes: [UInt8]) throws(RemoteReadError) -> RemoteReadRequest {
        var reader = ProtobufReader(bytes)
        var request = RemoteReadRequest(queries: [])
        var matchers: [[RawMatcher]] = []
        do {
            while let field = try reader.nextField() {
                switch field.number {
                case 1:
                    var query = try reader.readMessage(field, "ReadRequest.queries")
                    let (decoded, raw) = try decodeQuery(&query)
                    request.queries.append(decoded)
                    matchers.append(raw)
                case 2:
                    for raw in try reader.readRepeatedUInt64(field, "ReadRequest.accepted_response_types") {
                        if let type = ResponseType(rawValue: raw) {
                            request.acceptedResponseTypes.append(type)
                        } else {
                            request.unsupportedResponseTypes.append(raw)
                        }
                    }
                default:
                    try reader.skip(field)
                }
            }
        } catch {
            throw .badProtobuf(error)
        }
        for (q, raw) in matchers.enumerated() {
            for (m, matcher) in raw.enumerated() {
                request.queries[q].matchers.append(try matcher.compiled(query: q, matcher: m))
            }
        }
        return request
    }

    /// The request body a client sends: `encoded()`, snappy-compressed.
    package func snappyBody() -> [UInt8] { SnappyBlock.compress(encoded()) }

    /// The ReadRequest as protobuf (uncompressed), as a client sends it.
    package func encoded() -> [UInt8] {
        var writer = ProtobufWriter()
        for query in queries {
            writer.writeMessage(1) { q in
                q.writeInt64(1, query.startMs)
                q.writeInt64(2, query.endMs)
                for matcher in query.matchers {
                    q.writeMessage(3) { m in
                        m.writeUInt64(1, Self.wireType(of: matcher.type))
                        m.writeString(2, matcher.name)
                        m.writeString(3, matcher.value)
                    }
                }
                if let hints = query.hints {
                    q.writeMessage(4) { h in
                        h.writeInt64(1, hints.stepMs)
                        h.writeString(2, hints.function)
                        h.writeInt64(3, hints.startMs)
                        h.writeInt64(4, hints.endMs)
                        for name in hints.grouping {
                            h.writeKey(5, .lengthDelimited)
                            h.writeUvarint(UInt64(name.utf8.count))
                            h.writeRaw(name.utf8)
                        }
                        h.writeBool(6, hints.by)
                        h.writeInt64(7, hints.rangeMs)
                    }
                }
            }
        }
        writer.writePackedUInt64(2, (acceptedResponseTypes.map(\.rawValue) + unsupportedResponseTypes))
        return writer.bytes
    }

    // MARK: Message decoders

    /// A LabelMatcher as sent; compiled once the whole request has parsed.
    private struct RawMatcher {
        var type: UInt64 = 0
        var name = ""
        var value = ""

        func compiled(query: Int, matcher: Int) throws(RemoteReadError) -> LabelMatcher {
            let matchType: LabelMatcher.MatchType
            switch type {
            case 0: matchType = .equal
            case 1: matchType = .notEqual
            case 2: matchType = .regexMatch
            case 3: matchType = .regexNoMatch
            default: throw .unknownMatcherType(type, query: query, matcher: matcher)
            }
            do {
                return try LabelMatcher(matchType, name, value)
            } catch {
                throw .invalidRegex(error, query: query, matcher: matcher)
            }
        }
    }

    private static func decodeQuery(_ reader: inout ProtobufReader) throws(ProtobufError) -> (Query, [RawMatcher]) {
        var query = Query(startMs: 0, endMs: 0, matchers: [])
        var matchers: [RawMatcher] = []
        while let field = try reader.nextField() {
            switch field.number {
            case 1: query.startMs = try reader.readInt64(field, "Query.start_timestamp_ms")
            case 2: query.endMs = try reader.readInt64(field, "Query.end_timestamp_ms")
            case 3:
                var matcher = try reader.readMessage(field, "Query.matchers")
                matchers.append(try decodeMatcher(&matcher))
            case 4:
                // A repeated embedded message merges into the earlier one, as in every protobuf decoder.
                var hints = try reader.readMessage(field, "Query.hints")
                query.hints = try decodeHints(&hints, into: query.hints ?? Hints())
            default:
                try reader.skip(field)
            }
        }
        return (query, matchers)
    }

    private static func decodeMatcher(_ reader: inout ProtobufReader) throws(ProtobufError) -> RawMatcher {
        var matcher = RawMatcher()
        while let field = try reader.nextField() {
            switch field.number {
            case 1: matcher.type = try reader.readUInt64(field, "LabelMatcher.type")
            case 2: matcher.name = try reader.readString(field, "LabelMatcher.name")
            case 3: matcher.value = try reader.readString(field, "LabelMatcher.value")
            default: try reader.skip(field)
            }
        }
        return matcher
    }

    private static func decodeHints(_ reader: inout ProtobufReader, into hints: Hints) throws(ProtobufError) -> Hints {
        var hints = hints
        while let field = try reader.nextField() {
            switch field.number {
            case 1: hints.stepMs = try reader.readInt64(field, "ReadHints.step_ms")
            case 2: hints.function = try reader.readString(field, "ReadHints.func")
            case 3: hints.startMs = try reader.readInt64(field, "ReadHints.start_ms")
            case 4: hints.endMs = try reader.readInt64(field, "ReadHints.end_ms")
            case 5: hints.grouping.append(try reader.readString(field, "ReadHints.grouping"))
            case 6: hints.by = try reader.readBool(field, "ReadHints.by")
            case 7: hints.rangeMs = try reader.readInt64(field, "ReadHints.range_ms")
            default: try reader.skip(field)
            }
        }
        return hints
    }

    private static func wireType(of type: LabelMatcher.MatchType) -> UInt64 {
        switch type {
        case .equal: return 0
        case .notEqual: return 1
        case .regexMatch: return 2
        case .regexNoMatch: return 3
        }
    }
}

// MARK: - Streamed response

/// Encodes STREAMED_XOR_CHUNKS responses: per query, a sequence of frames
///
///     uvarint len(msg) · BE32 CRC32C(msg) · msg
///
/// where msg is a ChunkedReadResponse{chunked_series: [one series],
/// query_index} and the CRC covers exactly the msg bytes. As in Prometheus'
/// `StreamChunkedReadResponses` (whose client reads only the first series of
/// each frame), a frame carries one series, and a series too large for one
/// frame continues in the next frames with its labels repeated.
///
/// Every frame, header included, is at most `maxFrameBytes`; the one
/// exception is a series whose labels alone leave no room for a single
/// one-sample chunk, which is then sent one sample per frame.
package struct ChunkedResponseWriter: Sendable {
    /// Prometheus' `--storage.remote.read-max-bytes-in-frame` default.
    package static let defaultMaxFrameBytes = 1_048_576
    /// Samples per chunk when out-of-order data forces re-encoding, as the head cuts them.
    package static let samplesPerChunk = 120

    package let maxFrameBytes: Int

    package init(maxFrameBytes: Int = defaultMaxFrameBytes) {
        precondition(maxFrameBytes > 0, "maxFrameBytes must be positive")
        self.maxFrameBytes = maxFrameBytes
    }

    /// The frames answering query `queryIndex` from `series`, produced one at
    /// a time so the caller can flush each. Series are sent sorted by labels;
    /// chunks by min time, those entirely outside [mint, maxt] left out.
    /// In-order chunks go out as stored (they may extend past the range; the
    /// client trims). A series whose out-of-order data or overlapping chunks
    /// reach into the range is re-encoded instead: its merged samples in
    /// [mint, maxt] (`SeriesData.samples`) in fresh XOR chunks of at most
    /// `samplesPerChunk` samples.
    package func frames(queryIndex: Int, series: [SeriesData], mint: Int64, maxt: Int64) -> ChunkedFrames {
        ChunkedFrames(
            maxFrameBytes: maxFrameBytes, queryIndex: Int64(queryIndex),
            series: series.sorted { $0.labels < $1.labels }, mint: mint, maxt: maxt)
    }
}

/// The frames of one query's streamed response; see `ChunkedResponseWriter`.
/// Work happens in `next()`, one series at a time.
package struct ChunkedFrames: Sendable {
    private let maxFrameBytes: Int
    private let queryIndex: Int64
    private let series: [SeriesData]
    private let mint: Int64
    private let maxt: Int64

    private var nextSeries = 0
    /// The current series' Label fields, encoded once for all its frames.
    private var labelFields: [UInt8] = []
    /// The current series' chunks still to send, from `nextChunk` on.
    private var pending: [ChunkMeta] = []
    private var nextChunk = 0

    init(maxFrameBytes: Int, queryIndex: Int64, series: [SeriesData], mint: Int64, maxt: Int64) {
        self.maxFrameBytes = maxFrameBytes
        self.queryIndex = queryIndex
        self.series = series
        self.mint = mint
        self.maxt = maxt
    }

    /// The next frame, or nil when all are out. Throws when a stored chunk does
    /// not decode (only chunks that need re-encoding are decoded).
    package mutating func next() throws -> [UInt8]? {
        while true {
            while nextChunk == pending.count {
                guard nextSeries < series.count else { return nil }
                let current = series[nextSeries]
                nextSeries += 1
                pending = try chunksToSend(current)
                nextChunk = 0
                var writer = ProtobufWriter()
                RemoteRead.writeLabels(current.labels, to: &writer)
                labelFields = writer.bytes
            }
            var seriesSize = labelFields.count
            var end = nextChunk
            while end < pending.count {
                let size = Self.chunkFieldSize(pending[end])
                if frameSize(seriesSize: seriesSize + size) <= maxFrameBytes {
                    seriesSize += size
                    end += 1
                } else if end > nextChunk {
                    break
                } else if pending[end].chunk.count <= 1 {
                    // Nothing smaller exists: send it alone, over the limit.
                    seriesSize += size
                    end += 1
                    break
                } else {
                    pending.replaceSubrange(end...end, with: try split(pending[end]))
                }
            }
            // Splitting can drop a chunk with no samples in range, and with it the frame.
            guard end > nextChunk else { continue }
            let frame = encodeFrame(pending[nextChunk..<end], seriesSize: seriesSize)
            nextChunk = end
            return frame
        }
    }

    private func chunksToSend(_ data: SeriesData) throws -> [ChunkMeta] {
        let inRange = data.chunks.filter { overlaps($0) && $0.chunk.count > 0 }
        let overlapping = zip(inRange, inRange.dropFirst()).contains { $1.minTime <= $0.maxTime }
        let late =
            data.outOfOrderChunks.contains(where: overlaps)
            || data.outOfOrderSamples.contains { $0.timestamp >= mint && $0.timestamp <= maxt }
        guard overlapping || late else { return inRange }
        let samples = try data.samples(mint: mint, maxt: maxt)
        return try stride(from: 0, to: samples.count, by: ChunkedResponseWriter.samplesPerChunk).map { start in
            try Self.chunk(samples[start..<min(start + ChunkedResponseWriter.samplesPerChunk, samples.count)])
        }
    }

    private func overlaps(_ meta: ChunkMeta) -> Bool { meta.maxTime >= mint && meta.minTime <= maxt }

    /// Re-encodes a chunk too large for an empty frame into pieces that fit
    /// (or hold one sample), keeping only its samples in [mint, maxt].
    private func split(_ meta: ChunkMeta) throws(CodecError) -> [ChunkMeta] {
        let samples = try meta.chunk.samples().filter { $0.timestamp >= mint && $0.timestamp <= maxt }
        var pieces: [ChunkMeta] = []
        var builder = XORChunkBuilder()
        var start = 0, i = 0
        while i < samples.count {
            try builder.append(timestamp: samples[i].timestamp, value: samples[i].value)
            let size = Self.chunkFieldSize(
                minTime: samples[start].timestamp, maxTime: samples[i].timestamp,
                dataCount: builder.byteCount)
            if builder.count > 1 && frameSize(seriesSize: labelFields.count + size) > maxFrameBytes {
                // Close the piece before sample i; i starts the next one.
                pieces.append(try Self.chunk(samples[start..<i]))
                builder = XORChunkBuilder()
                start = i
            } else {
                i += 1
            }
        }
        if start < samples.count {
            pieces.append(
                ChunkMeta(
                    minTime: samples[start].timestamp, maxTime: samples[samples.count - 1].timestamp,
                    chunk: builder.chunk))
        }
        return pieces
    }

    private static func chunk(_ samples: ArraySlice<Sample>) throws(CodecError) -> ChunkMeta {
        ChunkMeta(
            minTime: samples.first!.timestamp, maxTime: samples.last!.timestamp,
            chunk: try XORChunk(encoding: samples))
    }

    // MARK: Sizes and encoding

    /// Chunk.type: XOR.
    private static let xorType: UInt64 = 1

    /// Bytes of a Chunk message body.
    private static func chunkSize(minTime: Int64, maxTime: Int64, dataCount: Int) -> Int {
        ProtobufWriter.int64Size(1, minTime) + ProtobufWriter.int64Size(2, maxTime)
            + ProtobufWriter.keySize(3) + ProtobufWriter.uvarintSize(xorType)
            + (dataCount == 0 ? 0 : ProtobufWriter.lengthDelimitedSize(4, length: dataCount))
    }

    /// Bytes of a ChunkedSeries.chunks field (key, length, body).
    private static func chunkFieldSize(minTime: Int64, maxTime: Int64, dataCount: Int) -> Int {
        ProtobufWriter.lengthDelimitedSize(2, length: chunkSize(minTime: minTime, maxTime: maxTime, dataCount: dataCount))
    }

    private static func chunkFieldSize(_ meta: ChunkMeta) -> Int {
        chunkFieldSize(minTime: meta.minTime, maxTime: meta.maxTime, dataCount: meta.chunk.bytes.count)
    }

    /// Bytes of a ChunkedReadResponse whose one ChunkedSeries body is `seriesSize` bytes.
    private func messageSize(seriesSize: Int) -> Int {
        ProtobufWriter.lengthDelimitedSize(1, length: seriesSize) + ProtobufWriter.int64Size(2, queryIndex)
    }

    private func frameSize(seriesSize: Int) -> Int {
        let message = messageSize(seriesSize: seriesSize)
        return ProtobufWriter.uvarintSize(UInt64(message)) + 4 + message
    }

    private func encodeFrame(_ chunks: ArraySlice<ChunkMeta>, seriesSize: Int) -> [UInt8] {
        var message = ProtobufWriter(capacity: messageSize(seriesSize: seriesSize))
        message.writeKey(1, .lengthDelimited)
        message.writeUvarint(UInt64(seriesSize))
        message.writeRaw(labelFields)
        for meta in chunks {
            message.writeKey(2, .lengthDelimited)
            message.writeUvarint(UInt64(Self.chunkSize(minTime: meta.minTime, maxTime: meta.maxTime, dataCount: meta.chunk.bytes.count)))
            message.writeInt64(1, meta.minTime)
            message.writeInt64(2, meta.maxTime)
            message.writeUInt64(3, Self.xorType)
            message.writeBytes(4, meta.chunk.bytes)
        }
        message.writeInt64(2, queryIndex)
        let body = message.bytes
        assert(body.count == messageSize(seriesSize: seriesSize), "frame size computed wrongly")

        var frame = ProtobufWriter(capacity: frameSize(seriesSize: seriesSize))
        frame.writeUvarint(UInt64(body.count))
        let crc = body.withUnsafeBytes { CRC32C.checksum($0) }
        frame.writeRaw([UInt8(crc >> 24), UInt8(truncatingIfNeeded: crc >> 16), UInt8(truncatingIfNeeded: crc >> 8), UInt8(truncatingIfNeeded: crc)])
        frame.writeRaw(body)
        return frame.bytes
    }
}

/// Why a remote read request was refused; every case is the client's fault
/// (HTTP 400).
package enum RemoteReadError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The body is not a valid snappy block.
    case badSnappy(String)
    /// The body announces more decoded bytes than the server accepts.
    case tooLarge(decodedBytes: Int, limit: Int)
    /// The decoded body is not a well-formed ReadRequest.
    case badProtobuf(ProtobufError)
    /// A LabelMatcher.type outside EQ, NEQ, RE, NRE (indices are 0-based).
    case unknownMatcherType(UInt64, query: Int, matcher: Int)
    /// A regex matcher Prometheus would refuse to compile.
    case invalidRegex(MatcherError, query: Int, matcher: Int)
    /// More queries in one request than the server answers.
    case tooManyQueries(Int, limit: Int)
    /// Every matcher of the query matches the empty string, so it would select every series.
    case noSelectiveMatcher(query: Int)
    /// The query's end is before its start.
    case startAfterEnd(query: Int, startMs: Int64, endMs: Int64)

    package var description: String {
        switch self {
        case let .badSnappy(reason): return "bad snappy body: \(reason)"
        case let .tooLarge(size, limit): return "decoded body of \(size) bytes exceeds the limit of \(limit) bytes"
        case let .badProtobuf(error): return "bad protobuf at \(error)"
        case let .unknownMatcherType(type, query, matcher): return "query \(query), matcher \(matcher): unknown matcher type \(type)"
        case let .invalidRegex(error, query, matcher): return "query \(query), matcher \(matcher): \(error)"
        case let .tooManyQueries(count, limit): return "\(count) queries in one request exceed the limit of \(limit) (read.maxQueries)"
        case let .noSelectiveMatcher(query):
            return "query \(query): query must contain at least one matcher that does not match the empty string"
        case let .startAfterEnd(query, start, end): return "query \(query): end time \(end) is before start time \(start)"
        }
    }
}
