import TestSupport
import Testing

@testable import Formats

// MARK: - Helpers: response decoders built on ProtobufReader

/// A Chunk as sent.
struct WireChunk: Equatable {
    var minTime: Int64 = 0
    var maxTime: Int64 = 0
    var type: UInt64 = 0
    var data: [UInt8] = []
}

/// A TimeSeries or ChunkedSeries as sent; labels in wire order.
struct WireSeries: Equatable {
    var labels: [Label] = []
    var samples: [Sample] = []
    var chunks: [WireChunk] = []
}

/// A checked frame of a streamed response.
struct WireFrame {
    var queryIndex: Int64 = 0
    var series: [WireSeries] = []
    var frameBytes: Int
}

enum RemoteReadWire {
    static func label(_ r: inout ProtobufReader) throws -> Label {
        var label = Label("", "")
        while let f = try r.nextField() {
            switch f.number {
            case 1: label.name = try r.readString(f, "Label.name")
            case 2: label.value = try r.readString(f, "Label.value")
            default: try r.skip(f)
            }
        }
        return label
    }

    static func sample(_ r: inout ProtobufReader) throws -> Sample {
        var sample = Sample(timestamp: 0, value: 0)
        while let f = try r.nextField() {
            switch f.number {
            case 1: sample.value = try r.readDouble(f, "Sample.value")
            case 2: sample.timestamp = try r.readInt64(f, "Sample.timestamp")
            default: try r.skip(f)
            }
        }
        return sample
    }

    static func chunk(_ r: inout ProtobufReader) throws -> WireChunk {
        var chunk = WireChunk()
        while let f = try r.nextField() {
            switch f.number {
            case 1: chunk.minTime = try r.readInt64(f, "Chunk.min_time_ms")
            case 2: chunk.maxTime = try r.readInt64(f, "Chunk.max_time_ms")
            case 3: chunk.type = try r.readUInt64(f, "Chunk.type")
            case 4: chunk.data = try r.readBytes(f, "Chunk.data")
            default: try r.skip(f)
            }
        }
        return chunk
    }

    /// TimeSeries (labels 1, samples 2) and ChunkedSeries (labels 1, chunks 2).
    static func series(_ r: inout ProtobufReader, chunked: Bool) throws -> WireSeries {
        var series = WireSeries()
        while let f = try r.nextField() {
            switch f.number {
            case 1:
                var m = try r.readMessage(f, "labels")
                series.labels.append(try label(&m))
            case 2:
                var m = try r.readMessage(f, chunked ? "chunks" : "samples")
                if chunked { series.chunks.append(try chunk(&m)) } else { series.samples.append(try sample(&m)) }
            default: try r.skip(f)
            }
        }
        return series
    }

    /// A snappy-compressed ReadResponse → per query, its series.
    static func readResponse(_ body: [UInt8]) throws -> [[WireSeries]] {
        var r = ProtobufReader(try SnappyBlock.decompress(body, maxDecodedBytes: .max))
        var results: [[WireSeries]] = []
        while let f = try r.nextField() {
            #expect(f.number == 1)
            var result = try r.readMessage(f, "results")
            var series: [WireSeries] = []
            while let g = try result.nextField() {
                #expect(g.number == 1)
                var m = try result.readMessage(g, "timeseries")
                series.append(try Self.series(&m, chunked: false))
            }
            results.append(series)
        }
        return results
    }

    /// Checks a frame's framing and CRC, then decodes its ChunkedReadResponse.
    static func frame(_ bytes: [UInt8]) throws -> WireFrame {
        var header = ProtobufReader(bytes)
        let length = try header.readUvarint()
        let crcAt = header.offset
        try #require(crcAt + 4 + Int(length) == bytes.count, "frame length prefix disagrees with the frame")
        let crc = bytes[crcAt..<crcAt + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let message = Array(bytes[(crcAt + 4)...])
        #expect(message.withUnsafeBytes { CRC32C.checksum($0) } == crc, "CRC32C of the message")
        var frame = WireFrame(frameBytes: bytes.count)
        var r = ProtobufReader(message)
        while let f = try r.nextField() {
            switch f.number {
            case 1:
                var m = try r.readMessage(f, "chunked_series")
                frame.series.append(try series(&m, chunked: true))
            case 2: frame.queryIndex = try r.readInt64(f, "query_index")
            default: Issue.record("unexpected field \(f.number)")
            }
        }
        return frame
    }

    static func frames(
        _ writer: ChunkedResponseWriter, queryIndex: Int = 0, _ series: [SeriesData],
        mint: Int64 = .min, maxt: Int64 = .max
    ) throws -> [WireFrame] {
        var frames = writer.frames(queryIndex: queryIndex, series: series, mint: mint, maxt: maxt)
        var out: [WireFrame] = []
        while let bytes = try frames.next() { out.append(try frame(bytes)) }
        return out
    }
}

/// A series stored as in-order chunks of `perChunk` samples.
func storedSeries(
    _ labels: Labels, _ samples: [Sample], perChunk: Int = 120,
    outOfOrderChunks: [[Sample]] = [], outOfOrderSamples: [Sample] = []
) throws -> SeriesData {
    func meta(_ s: ArraySlice<Sample>) throws -> ChunkMeta {
        ChunkMeta(minTime: s.first!.timestamp, maxTime: s.last!.timestamp, chunk: try XORChunk(encoding: s))
    }
    let chunks = try stride(from: 0, to: samples.count, by: perChunk).map {
        try meta(samples[$0..<min($0 + perChunk, samples.count)])
    }
    return SeriesData(
        labels: labels, chunks: chunks,
        outOfOrderChunks: try outOfOrderChunks.map { try meta($0[...]) },
        outOfOrderSamples: outOfOrderSamples)
}

func regularSamples(count: Int, start: Int64 = 0, step: Int64 = 15_000, seed: UInt64 = 1) -> [Sample] {
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { Sample(timestamp: start + Int64($0) * step, value: Double.random(in: -1e3...1e3, using: &rng)) }
}

/// Samples of the frames' chunks per series (frames of one series concatenated), trimmed to [mint, maxt].
func recoveredSamples(_ frames: [WireFrame], mint: Int64 = .min, maxt: Int64 = .max) throws -> [Labels: [Sample]] {
    var out: [Labels: [Sample]] = [:]
    for frame in frames {
        for series in frame.series {
            for chunk in series.chunks {
                let samples = try XORChunk(bytes: chunk.data).samples()
                #expect(samples.first?.timestamp == chunk.minTime && samples.last?.timestamp == chunk.maxTime)
                out[Labels(sorted: series.labels), default: []] += samples.filter { $0.timestamp >= mint && $0.timestamp <= maxt }
            }
        }
    }
    return out
}

extension RemoteRead {
    /// A snappy-compressed ReadResponse: one QueryResult per entry of
    /// `results`, in order, each holding its series sorted by labels with
    /// their samples in `ranges[i]` (inclusive), time-ordered and one per
    /// timestamp (`SeriesData.samples` merges out-of-order data). Series
    /// without samples in range are left out. Values keep their exact bits
    /// (stale markers, -0.0).
    ///
    /// Throws when a chunk does not decode, and `ReadLimitError.responseTooLarge`
    /// past `maxSampledBytes`. `ranges.count` must equal `results.count`.
    static func encodeSampledResponse(
        _ results: [[SeriesData]], ranges: [(mint: Int64, maxt: Int64)]
    ) throws -> [UInt8] {
        precondition(results.count == ranges.count, "one time range per query result")
        var encoder = SampledResponseEncoder()
        for (series, range) in zip(results, ranges) {
            for s in series.sorted(by: { $0.labels < $1.labels }) { try encoder.add(s, mint: range.mint, maxt: range.maxt) }
            try encoder.endQuery()
        }
        return encoder.finish()
    }
}

// MARK: - Protobuf primitives

@Suite struct RemoteReadProtobufTests {
    @Test func varintsAtEveryWidth() throws {
        var values: [UInt64] = [0, 1, 127, 128, 300, .max, UInt64(Int64.max), UInt64(bitPattern: -1)]
        values += (1..<64).flatMap { [UInt64(1) << $0, (UInt64(1) << $0) - 1] }
        var w = ProtobufWriter()
        for v in values {
            let before = w.bytes.count
            w.writeUvarint(v)
            #expect(w.bytes.count - before == ProtobufWriter.uvarintSize(v))
        }
        var r = ProtobufReader(w.bytes)
        for v in values { #expect(try r.readUvarint() == v) }
        #expect(r.isAtEnd)
    }

    @Test func scalarFields() throws {
        var w = ProtobufWriter()
        w.writeInt64(1, -2)
        w.writeDouble(2, 1.5)
        w.writeDouble(3, -0.0)
        w.writeDouble(4, 0.0)  // omitted
        w.writeInt64(5, 0)  // omitted
        w.writeString(6, "")  // omitted
        w.writeBytes(7, [0xAB])
        w.writePackedUInt64(8, [1, 300])
        // -2 as a 10-byte two's complement varint; 1.5 as fixed64 little-endian.
        #expect(
            w.bytes == [
                0x08, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01,
                0x11, 0, 0, 0, 0, 0, 0, 0xF8, 0x3F,
                0x19, 0, 0, 0, 0, 0, 0, 0, 0x80,
                0x3A, 0x01, 0xAB,
                0x42, 0x03, 0x01, 0xAC, 0x02
            ])
        var r = ProtobufReader(w.bytes)
        #expect(try r.readInt64(try #require(try r.nextField()), "a") == -2)
        #expect(try r.readDouble(try #require(try r.nextField()), "b") == 1.5)
        #expect(try r.readDouble(try #require(try r.nextField()), "c").sign == .minus)
        #expect(try r.readBytes(try #require(try r.nextField()), "d") == [0xAB])
        #expect(try r.readRepeatedUInt64(try #require(try r.nextField()), "e") == [1, 300])
        #expect(try r.nextField() == nil)
    }

    @Test func messageLengthsOfEveryWidth() throws {
        for size in [0, 1, 127, 128, 16_383, 16_384, 70_000] {
            var w = ProtobufWriter()
            w.writeMessage(3) { $0.writeRaw([UInt8](repeating: 7, count: size)) }
            w.writeUInt64(4, 9)
            #expect(w.bytes.count == ProtobufWriter.lengthDelimitedSize(3, length: size) + 2)
            var r = ProtobufReader(w.bytes)
            var inner = try r.readMessage(try #require(try r.nextField()), "m")
            #expect(inner.end - inner.offset == size)
            while !inner.isAtEnd { _ = try inner.readUvarint() }
            #expect(try r.readUInt64(try #require(try r.nextField()), "n") == 9)
        }
    }
}

// MARK: - Request decoding

@Suite struct RemoteReadRequestTests {
    /// ReadRequest{queries: [Query{start 1000, end 2000, matchers: [__name__="up", job=~"api.*"]}],
    /// accepted_response_types: [STREAMED_XOR_CHUNKS]}, written by hand from remote.proto.
    static let golden: [UInt8] =
        [
            0x0A, 0x26,  // ReadRequest.queries (1, LEN), 38 bytes
            0x08, 0xE8, 0x07,  //   start_timestamp_ms (1) = 1000
            0x10, 0xD0, 0x0F,  //   end_timestamp_ms (2) = 2000
            0x1A, 0x0E,  //   matchers (3, LEN), 14 bytes; type EQ (0) omitted
            0x12, 0x08
        ] + Array("__name__".utf8) + [  // name (2)
            0x1A, 0x02
        ] + Array("up".utf8) + [  // value (3)
            0x1A, 0x0E,  //   matchers (3, LEN), 14 bytes
            0x08, 0x02,  //     type (1) = RE
            0x12, 0x03
        ] + Array("job".utf8) + [
            0x1A, 0x05
        ] + Array("api.*".utf8) + [
            0x12, 0x01, 0x01  // accepted_response_types (2, packed) = [1]
        ]

    @Test func goldenRequest() throws {
        let request = try RemoteReadRequest.decode(protobuf: Self.golden)
        #expect(request.queries.count == 1)
        let query = try #require(request.queries.first)
        #expect(query.startMs == 1000 && query.endMs == 2000)
        #expect(query.matchers == [try LabelMatcher(.equal, "__name__", "up"), try LabelMatcher(.regexMatch, "job", "api.*")])
        #expect(query.matchers[1].matches("api-gateway") && !query.matchers[1].matches("xapi"))
        #expect(query.hints == nil)
        #expect(request.acceptedResponseTypes == [.streamedXORChunks])
        #expect(request.negotiatedResponseType == .streamedXORChunks)
        #expect(request.encoded() == Self.golden)
        // The same through snappy, as it arrives over HTTP.
        let body = SnappyBlock.compress(Self.golden)
        #expect(try RemoteReadRequest.decode(snappyBody: body, maxDecodedBytes: 1 << 20) == request)
    }

    @Test func hintsNegativeTimesAndRoundTrip() throws {
        let request = RemoteReadRequest(
            queries: [
                .init(
                    startMs: -5000, endMs: 1_700_000_000_000,
                    matchers: [try LabelMatcher(.notEqual, "env", ""), try LabelMatcher(.regexNoMatch, "pod", "canary-.+")],
                    hints: .init(
                        stepMs: 15_000, function: "rate", startMs: -5000, endMs: 1_700_000_000_000,
                        grouping: ["job", "instance"], by: true, rangeMs: 300_000)),
                .init(startMs: 0, endMs: 0, matchers: [try LabelMatcher(.equal, "é", "e\u{301}")])
            ],
            acceptedResponseTypes: [.samples, .streamedXORChunks])
        let decoded = try RemoteReadRequest.decode(protobuf: request.encoded())
        #expect(decoded == request)
        #expect(decoded.queries[0].hints?.grouping == ["job", "instance"])
        #expect(decoded.negotiatedResponseType == .samples)
    }

    @Test func unknownFieldsSkippedUnpackedTypesAccepted() throws {
        var w = ProtobufWriter()
        w.writeMessage(1) { q in
            q.writeInt64(1, 7)
            q.writeUInt64(99, 12345)  // unknown varint
            q.writeKey(98, .fixed32); q.writeRaw([1, 2, 3, 4])  // unknown fixed32
            q.writeDouble(97, 2.5)  // unknown fixed64
            q.writeString(96, "ignored")  // unknown length-delimited
            q.writeInt64(2, 9)
        }
        w.writeUInt64(2, 5)  // unpacked, unknown type
        w.writeKey(2, .varint); w.writeUvarint(0)  // unpacked SAMPLES (explicit zero)
        let request = try RemoteReadRequest.decode(protobuf: w.bytes)
        #expect(request.queries == [.init(startMs: 7, endMs: 9, matchers: [])])
        #expect(request.acceptedResponseTypes == [.samples])
        #expect(request.unsupportedResponseTypes == [5])
        #expect(request.negotiatedResponseType == .samples)
    }

    @Test func negotiation() throws {
        #expect(RemoteReadRequest(queries: []).negotiatedResponseType == .samples)
        #expect(RemoteReadRequest(queries: [], unsupportedResponseTypes: [7]).negotiatedResponseType == nil)
        #expect(
            RemoteReadRequest(
                queries: [], acceptedResponseTypes: [.streamedXORChunks, .samples],
                unsupportedResponseTypes: [7]
            ).negotiatedResponseType == .streamedXORChunks)
        #expect(try RemoteReadRequest.decode(protobuf: []) == RemoteReadRequest(queries: []))
    }

    // MARK: Errors

    func protobufError(_ bytes: [UInt8]) -> ProtobufError? {
        do {
            _ = try RemoteReadRequest.decode(protobuf: bytes)
        } catch {
            if case let .badProtobuf(e) = error { return e }
            Issue.record("expected a protobuf error, got \(error)")
        }
        return nil
    }

    @Test func truncatedRequest() throws {
        let error = try #require(protobufError(Array(Self.golden.prefix(30))))
        // Cut inside the query: its length prefix (at offset 1) claims 38 bytes, 28 are left.
        #expect(error.offset == 1)
        #expect(error.reason.contains("runs past the end"))
        #expect(RemoteReadError.badProtobuf(error).description.hasPrefix("bad protobuf at offset 1: "))
    }

    @Test func nestedLengthOverrunsItsMessageNotTheBuffer() throws {
        // A matcher whose value claims 9 bytes while its matcher message has 4 left;
        // the buffer itself has enough bytes after it.
        var bytes: [UInt8] = [0x0A, 0x08, 0x1A, 0x06, 0x12, 0x01, 0x61, 0x1A, 0x09, 0x62]
        bytes += [UInt8](repeating: 0x08, count: 12)
        let error = try #require(protobufError(bytes))
        #expect(error.offset == 8)
    }

    @Test func corruptProtobuf() throws {
        // start_timestamp_ms sent as length-delimited.
        let wrongType = try #require(protobufError([0x0A, 0x03, 0x0A, 0x01, 0x00]))
        #expect(wrongType.offset == 2 && wrongType.reason.contains("Query.start_timestamp_ms"))
        // Groups.
        #expect(try #require(protobufError([0x0B, 0x0C])).reason.contains("groups"))
        // Wire type 7.
        #expect(try #require(protobufError([0x0F])).reason.contains("invalid wire type"))
        // Field number 0.
        #expect(try #require(protobufError([0x02, 0x00])).reason.contains("field number 0"))
        // Varint beyond 64 bits.
        #expect(try #require(protobufError([0x18] + [UInt8](repeating: 0xFF, count: 10) + [0x01])).reason.contains("64 bits"))
        // Invalid UTF-8 in a matcher name.
        let utf8 = try #require(protobufError([0x0A, 0x06, 0x1A, 0x04, 0x12, 0x02, 0xC3, 0x28]))
        #expect(utf8.offset == 4 && utf8.reason.contains("UTF-8"))
        // Packed accepted types cut inside a varint.
        #expect(protobufError([0x12, 0x01, 0x80]) != nil)
    }

    @Test func badMatcherTypeAndRegex() throws {
        func request(_ matchers: [(UInt64, String, String)]) -> [UInt8] {
            var w = ProtobufWriter()
            w.writeMessage(1) { q in
                for (type, name, value) in matchers {
                    q.writeMessage(3) { m in
                        m.writeUInt64(1, type)
                        m.writeString(2, name)
                        m.writeString(3, value)
                    }
                }
            }
            return w.bytes
        }
        #expect(throws: RemoteReadError.unknownMatcherType(4, query: 0, matcher: 1)) {
            try RemoteReadRequest.decode(protobuf: request([(0, "a", "b"), (4, "c", "d")]))
        }
        do {
            _ = try RemoteReadRequest.decode(protobuf: request([(2, "job", "api(")]))
            Issue.record("an invalid regex decoded")
        } catch {
            guard case let .invalidRegex(matcherError, 0, 0) = error else { Issue.record("got \(error)"); return }
            #expect(matcherError.kind == .missingParen)
            #expect(error.description.contains("missing closing )"))
        }
    }

    @Test func badSnappy() throws {
        let body = SnappyBlock.compress(Self.golden)
        #expect(throws: RemoteReadError.self) { try RemoteReadRequest.decode(snappyBody: [], maxDecodedBytes: 1000) }
        #expect(throws: RemoteReadError.self) { try RemoteReadRequest.decode(snappyBody: Array(body.dropLast()), maxDecodedBytes: 1000) }
        #expect(throws: RemoteReadError.self) { try RemoteReadRequest.decode(snappyBody: body + [0x00], maxDecodedBytes: 1000) }
        // Announces 2^31 bytes in a 6-byte body: refused without allocating.
        #expect(throws: RemoteReadError.badSnappy("announces 2147483648 bytes, more than 6 compressed bytes can hold")) {
            try RemoteReadRequest.decode(snappyBody: [0x80, 0x80, 0x80, 0x80, 0x08, 0x00], maxDecodedBytes: .max)
        }
        #expect(throws: RemoteReadError.tooLarge(decodedBytes: Self.golden.count, limit: 10)) {
            try RemoteReadRequest.decode(snappyBody: body, maxDecodedBytes: 10)
        }
    }
}

// MARK: - Every mutation of a request errors or decodes, never crashes

@Suite struct RemoteReadFuzzTests {
    static let body = SnappyBlock.compress(RemoteReadRequestTests.golden)

    @Test func everyTruncationOfTheSnappyBodyFails() {
        for n in 0..<Self.body.count {
            #expect(throws: RemoteReadError.self, "prefix \(n)") {
                try RemoteReadRequest.decode(snappyBody: Array(Self.body.prefix(n)), maxDecodedBytes: 1 << 20)
            }
        }
    }

    @Test func everyTruncationOfTheProtobufFailsUnlessAtAFieldBoundary() {
        // Top-level field boundaries: before the query, after it, at the end.
        let boundaries: Set<Int> = [0, 40, RemoteReadRequestTests.golden.count]
        for n in 0..<RemoteReadRequestTests.golden.count where !boundaries.contains(n) {
            #expect(throws: RemoteReadError.self, "prefix \(n)") {
                try RemoteReadRequest.decode(protobuf: Array(RemoteReadRequestTests.golden.prefix(n)))
            }
        }
    }

    /// A request using every field: two queries, all matcher types, hints.
    static func fullRequest() throws -> [UInt8] {
        RemoteReadRequest(
            queries: [
                .init(
                    startMs: -1, endMs: 1_700_000_000_000,
                    matchers: [try LabelMatcher(.equal, "__name__", "up"), try LabelMatcher(.notEqual, "a", "")],
                    hints: .init(stepMs: 15_000, function: "rate", startMs: 1, endMs: 2, grouping: ["job", ""], by: true, rangeMs: 60_000)),
                .init(startMs: 5, endMs: 6, matchers: [try LabelMatcher(.regexMatch, "b", "x|y"), try LabelMatcher(.regexNoMatch, "c", "z+")])
            ],
            acceptedResponseTypes: [.streamedXORChunks, .samples]
        ).encoded()
    }

    @Test func everyByteFlip() throws {
        let full = try Self.fullRequest()
        for masks in [[UInt8]([0xFF]), (0..<8).map { UInt8(1) << $0 }] {
            for mask in masks {
                for original in [RemoteReadRequestTests.golden, full] {
                    for i in original.indices {
                        var bytes = original
                        bytes[i] ^= mask
                        _ = try? RemoteReadRequest.decode(protobuf: bytes)
                        _ = try? RemoteReadRequest.decode(snappyBody: SnappyBlock.compress(bytes), maxDecodedBytes: 1 << 20)
                    }
                }
                for i in Self.body.indices {
                    var bytes = Self.body
                    bytes[i] ^= mask
                    _ = try? RemoteReadRequest.decode(snappyBody: bytes, maxDecodedBytes: 1 << 20)
                }
            }
        }
    }

    @Test func everyTruncationOfAFullRequestIsHandled() throws {
        let full = try Self.fullRequest()
        #expect(try RemoteReadRequest.decode(protobuf: full).encoded() == full)
        for n in 0..<full.count { _ = try? RemoteReadRequest.decode(protobuf: Array(full.prefix(n))) }
        let body = SnappyBlock.compress(full)
        for n in 0..<body.count {
            #expect(throws: RemoteReadError.self, "prefix \(n)") {
                try RemoteReadRequest.decode(snappyBody: Array(body.prefix(n)), maxDecodedBytes: 1 << 20)
            }
        }
    }

    @Test func randomBytes() {
        var rng = SplitMix64(seed: 42)
        for _ in 0..<5000 {
            let bytes = (0..<Int.random(in: 0...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = try? RemoteReadRequest.decode(protobuf: bytes)
            _ = try? RemoteReadRequest.decode(snappyBody: bytes, maxDecodedBytes: 1 << 16)
        }
    }
}

// MARK: - SAMPLES response

@Suite struct RemoteReadSampledTests {
    @Test func roundTrip() throws {
        let special = [
            Sample(timestamp: -30_000, value: -0.0), Sample(timestamp: 0, value: 0),
            Sample(timestamp: 15_000, valueBits: Sample.staleNaNBits), Sample(timestamp: 30_000, value: .infinity)
        ]
        let a = try storedSeries(Labels(["__name__": "up", "job": "b"]), regularSamples(count: 300))
        let b = try storedSeries(Labels(["__name__": "up", "job": "a"]), special)
        // In-order at 0, 30s, 60s...; out-of-order at 15s and a duplicate of 30s (in-order wins).
        let cInOrder = regularSamples(count: 10, step: 30_000)
        let c = try storedSeries(
            Labels(["__name__": "late"]), cInOrder,
            outOfOrderChunks: [[Sample(timestamp: 15_000, value: 99)]],
            outOfOrderSamples: [Sample(timestamp: 30_000, value: -1), Sample(timestamp: 45_000, value: 7)])
        let outside = try storedSeries(Labels(["__name__": "old"]), regularSamples(count: 5, start: -1_000_000))
        let ranges: [(mint: Int64, maxt: Int64)] = [(-30_000, 1_000_000), (15_000, 45_000), (0, -1)]
        let body = try RemoteRead.encodeSampledResponse([[a, b, c, outside], [c], [a]], ranges: ranges)
        let results = try RemoteReadWire.readResponse(body)
        #expect(results.count == 3)

        // Sorted by labels, series without samples in range left out.
        #expect(results[0].map { Labels(sorted: $0.labels) } == [c.labels, b.labels, a.labels])
        for (series, data) in zip(results[0], [c, b, a]) {
            #expect(series.samples == (try data.samples(mint: ranges[0].mint, maxt: ranges[0].maxt)))
        }
        #expect(results[0][1].samples == special)
        #expect(results[0][1].samples[0].value.sign == .minus)
        #expect(results[1].first?.samples == [Sample(timestamp: 15_000, value: 99), cInOrder[1], Sample(timestamp: 45_000, value: 7)])
        #expect(results[2].isEmpty)
    }

    @Test func emptyResponse() throws {
        #expect(try RemoteReadWire.readResponse(RemoteRead.encodeSampledResponse([], ranges: [])).isEmpty)
        #expect(try RemoteReadWire.readResponse(RemoteRead.encodeSampledResponse([[]], ranges: [(0, 10)])) == [[]])
    }
}

// MARK: - STREAMED_XOR_CHUNKS response

@Suite struct RemoteReadStreamedTests {
    static func fleet() throws -> [SeriesData] {
        try (0..<6).reversed().map { i in
            try storedSeries(
                Labels(["__name__": "cpu", "core": "\(i)", "host": "h\(i % 2)"]),
                regularSamples(count: 100 + 97 * i, seed: UInt64(i)))
        }
    }

    @Test func defaultFramesCarryStoredChunksUnchanged() throws {
        let series = try Self.fleet()
        let frames = try RemoteReadWire.frames(ChunkedResponseWriter(), queryIndex: 3, series)
        #expect(frames.count == series.count)
        let sorted = series.sorted { $0.labels < $1.labels }
        for (frame, data) in zip(frames, sorted) {
            #expect(frame.queryIndex == 3)
            #expect(frame.series.count == 1)
            #expect(Labels(sorted: frame.series[0].labels) == data.labels)
            #expect(
                frame.series[0].chunks
                    == data.chunks.map {
                        WireChunk(minTime: $0.minTime, maxTime: $0.maxTime, type: 1, data: $0.chunk.bytes)
                    })
        }
    }

    @Test func queryIndexZeroIsOmitted() throws {
        let series = [try Self.fleet()[0]]
        var zero = ChunkedResponseWriter().frames(queryIndex: 0, series: series, mint: .min, maxt: .max)
        var one = ChunkedResponseWriter().frames(queryIndex: 1, series: series, mint: .min, maxt: .max)
        let a = try #require(try zero.next()), b = try #require(try one.next())
        #expect(try RemoteReadWire.frame(a).queryIndex == 0)
        #expect(a.count + 2 == b.count)  // query_index (2) = 1 is `10 01`
        #expect(try zero.next() == nil)
    }

    @Test func chunksOutsideTheRangeAreDropped() throws {
        let series = try Self.fleet()
        // Chunk boundaries of 120 samples at 15 s: a range covering the 2nd and part of the 3rd chunk.
        let mint: Int64 = 120 * 15_000 + 5, maxt: Int64 = 250 * 15_000
        let frames = try RemoteReadWire.frames(ChunkedResponseWriter(), series, mint: mint, maxt: maxt)
        for chunk in frames.flatMap({ $0.series.flatMap(\.chunks) }) {
            #expect(chunk.maxTime >= mint && chunk.minTime <= maxt)
        }
        let recovered = try recoveredSamples(frames, mint: mint, maxt: maxt)
        for data in series {
            let expected = try data.samples(mint: mint, maxt: maxt)
            #expect(recovered[data.labels] ?? [] == expected)
        }
        // Series with no chunk in range send no frame.
        #expect(frames.count == series.filter { (try? $0.samples(mint: mint, maxt: maxt).isEmpty) == false }.count)
    }

    @Test(arguments: [200, 333, 700, 4096])
    func smallFramesSplitSeriesWithinTheLimit(maxFrameBytes: Int) throws {
        let series = try Self.fleet() + [try storedSeries(Labels(["__name__": "big"]), regularSamples(count: 1000, seed: 9), perChunk: 1000)]
        let frames = try RemoteReadWire.frames(ChunkedResponseWriter(maxFrameBytes: maxFrameBytes), queryIndex: 1, series)
        #expect(frames.count > series.count)
        for frame in frames {
            #expect(frame.frameBytes <= maxFrameBytes)
            #expect(frame.series.count == 1 && !frame.series[0].chunks.isEmpty)
            #expect(frame.queryIndex == 1)
            let starts = frame.series[0].chunks.map(\.minTime)
            #expect(starts == starts.sorted())
        }
        // Labels never go backwards; a split series' frames are adjacent.
        let labels = frames.map { Labels(sorted: $0.series[0].labels) }
        #expect(zip(labels, labels.dropFirst()).allSatisfy { !($1 < $0) })
        let recovered = try recoveredSamples(frames)
        #expect(recovered.count == series.count)
        for data in series { #expect(recovered[data.labels] == (try data.samples())) }
    }

    @Test func labelsTooLargeForOneSampleSendOneSamplePerFrame() throws {
        let labels = Labels(["__name__": "x", "blob": String(repeating: "z", count: 300)])
        let samples = regularSamples(count: 7)
        let frames = try RemoteReadWire.frames(ChunkedResponseWriter(maxFrameBytes: 256), [try storedSeries(labels, samples)])
        #expect(frames.count == 7)
        for frame in frames { #expect(frame.series[0].chunks.count == 1) }
        #expect(try recoveredSamples(frames)[labels] == samples)
    }

    @Test func outOfOrderDataIsMergedIntoFreshChunks() throws {
        let inOrder = regularSamples(count: 400, step: 10_000, seed: 3)
        // Out-of-order samples between the in-order ones, one duplicate timestamp (in-order wins),
        // and some before the first in-order sample.
        let lateChunk = (0..<50).map { Sample(timestamp: 5_000 + Int64($0) * 20_000, value: Double($0)) }
        let lateBuffer = [Sample(timestamp: -25_000, value: 1), Sample(timestamp: 100_000, value: -1), Sample(timestamp: 3_333, value: 2)]
        let data = try storedSeries(
            Labels(["__name__": "ooo"]), inOrder,
            outOfOrderChunks: [lateChunk], outOfOrderSamples: lateBuffer)
        // The merge worked out here, not by the code under test: one sample per
        // timestamp, the in-order one where both have it.
        var byTime: [Int64: Double] = [:]
        for s in lateChunk + lateBuffer { byTime[s.timestamp] = s.value }
        #expect(byTime.count == lateChunk.count + lateBuffer.count)
        for s in inOrder { byTime[s.timestamp] = s.value }
        let merged = byTime.sorted { $0.key < $1.key }.map { Sample(timestamp: $0.key, value: $0.value) }
        #expect(merged.count == 400 + 50 + 2)
        #expect(merged.first { $0.timestamp == 100_000 }?.value == inOrder[10].value)
        let ranges: [(Int64, Int64, Int)] = [(.min, .max, 452), (-10_000, 1_000_000, 101 + 50 + 1), (600_000, 610_000, 3)]
        for (mint, maxt, count) in ranges {
            let frames = try RemoteReadWire.frames(ChunkedResponseWriter(), [data], mint: mint, maxt: maxt)
            let expected = merged.filter { $0.timestamp >= mint && $0.timestamp <= maxt }
            #expect(expected.count == count)
            #expect(frames.count == 1)
            let chunks = frames.flatMap { $0.series.flatMap(\.chunks) }
            // Re-encoded: every sample inside the range, chunks of at most 120 samples.
            let decoded = try chunks.map { try XORChunk(bytes: $0.data).samples() }
            #expect(decoded.allSatisfy { $0.count <= ChunkedResponseWriter.samplesPerChunk })
            #expect(decoded.flatMap { $0 } == expected)
        }
        // With a small frame limit too.
        let frames = try RemoteReadWire.frames(ChunkedResponseWriter(maxFrameBytes: 300), [data])
        #expect(frames.allSatisfy { $0.frameBytes <= 300 })
        #expect(try recoveredSamples(frames)[data.labels] == merged)
    }

    @Test func outOfOrderDataOutsideTheRangeKeepsStoredChunks() throws {
        let data = try storedSeries(
            Labels(["__name__": "ooo"]), regularSamples(count: 300),
            outOfOrderChunks: [[Sample(timestamp: -50_000, value: 1)]],
            outOfOrderSamples: [Sample(timestamp: -40_000, value: 2)])
        let frames = try RemoteReadWire.frames(ChunkedResponseWriter(), [data], mint: 0, maxt: .max)
        #expect(frames.flatMap { $0.series.flatMap(\.chunks).map(\.data) } == data.chunks.map(\.chunk.bytes))
    }

    @Test func overlappingStoredChunksAreMerged() throws {
        // Two sources holding the same time range (a block and the head, say): the first listed wins.
        let first = regularSamples(count: 50, seed: 1), second = regularSamples(count: 80, seed: 2)
        var data = try storedSeries(Labels(["__name__": "dup"]), first)
        data.chunks += try storedSeries(data.labels, second).chunks
        let frames = try RemoteReadWire.frames(ChunkedResponseWriter(), [data])
        let decoded = try frames.flatMap { $0.series.flatMap(\.chunks) }.flatMap { try XORChunk(bytes: $0.data).samples() }
        #expect(decoded == first + second[50...])
    }

    @Test func emptyInput() throws {
        #expect(try RemoteReadWire.frames(ChunkedResponseWriter(), []).isEmpty)
        let noChunks = SeriesData(labels: Labels(["a": "b"]), chunks: [])
        #expect(try RemoteReadWire.frames(ChunkedResponseWriter(), [noChunks]).isEmpty)
    }
}
