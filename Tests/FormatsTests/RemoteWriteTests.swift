import TestSupport
import Testing

@testable import Formats

// MARK: - Helpers

/// Hand-built protobuf, written from the spec (docs/format/remote-write.md#protobuf-subset), not by the
/// code under test.
private struct PB {
    var bytes: [UInt8] = []

    mutating func uvarint(_ v: UInt64) {
        var v = v
        while v >= 0x80 { bytes.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        bytes.append(UInt8(v))
    }
    mutating func key(_ field: UInt64, _ wireType: UInt64) { uvarint(field << 3 | wireType) }
    mutating func varint(_ field: UInt64, _ v: UInt64) { key(field, 0); uvarint(v) }
    mutating func fixed64(_ field: UInt64, _ v: UInt64) {
        key(field, 1)
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
    }
    mutating func fixed32(_ field: UInt64, _ v: UInt32) {
        key(field, 5)
        for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) }
    }
    mutating func bytes(_ field: UInt64, _ b: [UInt8]) { key(field, 2); uvarint(UInt64(b.count)); bytes += b }
    mutating func string(_ field: UInt64, _ s: String) { bytes(field, Array(s.utf8)) }
    mutating func message(_ field: UInt64, _ build: (inout PB) -> Void) {
        var sub = PB()
        build(&sub)
        bytes(field, sub.bytes)
    }
}

private func rwSeries(_ labels: [(String, String)], _ samples: [Sample]) -> RemoteWriteSeries {
    RemoteWriteSeries(labels: Labels(sorted: labels.map { Label($0.0, $0.1) }), samples: samples)
}

/// Decodes, or returns the error; never anything else.
private func attempt(_ body: [UInt8]) -> Result<RemoteWriteRequest, RemoteWriteError> {
    do { return .success(try RemoteWrite.decode(protobuf: body)) } catch { return .failure(error) }
}

private func attemptSnappy(_ body: [UInt8], limit: Int = 1 << 20) -> Result<RemoteWriteRequest, RemoteWriteError> {
    do { return .success(try RemoteWrite.decode(snappyBody: body, maxDecodedBytes: limit)) } catch { return .failure(error) }
}

private let nameChars = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789")
private let valueChars: [Character] = Array("az09 _-:/.\"\\\n\t") + ["é", "ü", "€", "😀", "\u{0}", "中"]

private func randomRequest(_ rng: inout SplitMix64) -> RemoteWriteRequest {
    var request = RemoteWriteRequest()
    for _ in 0..<Int.random(in: 0...12, using: &rng) {
        var names = Set<String>()
        names.insert("__name__")
        for _ in 0..<Int.random(in: 0...10, using: &rng) {
            let length = Int.random(in: 1...20, using: &rng)
            var name = String(nameChars[Int.random(in: 0..<53, using: &rng)])
            for _ in 1..<length { name.append(nameChars.randomElement(using: &rng)!) }
            names.insert(name)
        }
        let labels = names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }.map { name -> Label in
            if name == "__name__" { return Label(name, "metric_\(rng.next() % 100):total") }
            let longest = rng.next() % 8 == 0 ? 300 : 24
            let length = Int.random(in: 1...longest, using: &rng)
            return Label(name, String((0..<length).map { _ in valueChars.randomElement(using: &rng)! }))
        }
        let most = rng.next() % 10 == 0 ? 500 : 20
        let samples = (0..<Int.random(in: 0...most, using: &rng)).map { _ -> Sample in
            let t: Int64
            switch rng.next() % 5 {
            case 0: t = 0
            case 1: t = -Int64(rng.next() % 100_000)
            case 2: t = Int64(bitPattern: rng.next())
            default: t = 1_700_000_000_000 + Int64(rng.next() % 1_000_000)
            }
            let bits: UInt64
            switch rng.next() % 7 {
            case 0: bits = 0
            case 1: bits = Sample.staleNaNBits
            case 2: bits = (-0.0 as Double).bitPattern
            case 3: bits = Double.infinity.bitPattern
            case 4: bits = 0x7FF8_0000_0000_0001
            default: bits = rng.next()
            }
            return Sample(timestamp: t, valueBits: bits)
        }
        request.series.append(RemoteWriteSeries(labels: Labels(sorted: labels), samples: samples))
    }
    return request
}

// MARK: - Golden bytes

@Suite struct RemoteWriteGoldenTests {
    /// One series {__name__="up", job="a"}: (1700000000000, 1.0) and (-1, stale NaN).
    /// Bytes written from the key table in docs/format/remote-write.md#field-keys; the same bytes come out of the
    /// reference protobuf library for this message.
    static let golden = hex(
        "0a42"  // WriteRequest.timeseries, 66 bytes
            + "0a0e" + "0a085f5f6e616d655f5f" + "12027570"  // Label{name "__name__", value "up"}
            + "0a08" + "0a036a6f62" + "120161"  // Label{name "job", value "a"}
            + "1210" + "09000000000000f03f" + "1080d095ffbc31"  // Sample{1.0, 1700000000000}
            + "1214" + "09020000000000f07f" + "10ffffffffffffffffff01")  // Sample{stale NaN, -1}

    static let expected = RemoteWriteRequest(series: [
        rwSeries(
            [("__name__", "up"), ("job", "a")],
            [
                Sample(timestamp: 1_700_000_000_000, value: 1.0),
                Sample(timestamp: -1, valueBits: Sample.staleNaNBits)
            ])
    ])

    @Test func decodesGoldenBytes() throws {
        let request = try RemoteWrite.decode(protobuf: Self.golden)
        #expect(request == Self.expected)
        #expect(request.series[0].samples[1].value.bitPattern == 0x7FF0_0000_0000_0002)
        #expect(request.series[0].isValid)
        #expect(request.sampleCount == 2 && request.metadataCount == 0)
        #expect(request.firstLabelError == nil)
    }

    @Test func encodesGoldenBytes() throws {
        #expect(RemoteWrite.encodeProtobuf(Self.expected) == Self.golden)
        let body = RemoteWrite.encode(Self.expected)
        #expect(try RemoteWrite.decode(snappyBody: body, maxDecodedBytes: Self.golden.count) == Self.expected)
    }

    @Test func zeroValuesAreOmittedAndDecodeAsZero() throws {
        // Sample{} is all defaults: value 0.0, timestamp 0. -0.0 keeps its sign.
        let request = RemoteWriteRequest(series: [
            rwSeries(
                [("a", "b")],
                [
                    Sample(timestamp: 0, value: 0), Sample(timestamp: 0, value: -0.0)
                ])
        ])
        let bytes = RemoteWrite.encodeProtobuf(request)
        #expect(bytes == hex("0a15" + "0a060a0161120162" + "1200" + "120909" + "0000000000000080"))
        let back = try RemoteWrite.decode(protobuf: bytes)
        #expect(back == request)
        #expect(back.series[0].samples[1].value.sign == .minus)
    }

    @Test func emptyBodyIsAnEmptyRequest() throws {
        #expect(try RemoteWrite.decode(protobuf: []) == RemoteWriteRequest())
        let body = RemoteWrite.encode(RemoteWriteRequest())
        #expect(body == [0])
        #expect(try RemoteWrite.decode(snappyBody: body, maxDecodedBytes: 0) == RemoteWriteRequest())
    }
}

// MARK: - Round trips

@Suite struct RemoteWriteRoundTripTests {
    @Test func randomRequestsRoundTrip() throws {
        var rng = SplitMix64(seed: 0x5EED_0001)
        for _ in 0..<300 {
            let request = randomRequest(&rng)
            let body = RemoteWrite.encode(request)
            let back = try RemoteWrite.decode(snappyBody: body, maxDecodedBytes: 1 << 24)
            #expect(back == request)
            #expect(back.firstLabelError == nil)
        }
    }

    @Test func largeSeriesGrowTheDecodeBuffers() throws {
        let labels = (0..<200).map { Label("l\(1000 + $0)", "v\($0)") }
        let samples = (0..<5000).map { Sample(timestamp: Int64($0) * 15_000, value: Double($0)) }
        let request = RemoteWriteRequest(series: [
            rwSeries([("__name__", "small")], [Sample(timestamp: 1, value: 1)]),
            RemoteWriteSeries(labels: Labels(sorted: labels), samples: samples),
            rwSeries([("__name__", "small")], [Sample(timestamp: 2, value: 2)])
        ])
        #expect(try RemoteWrite.decode(snappyBody: RemoteWrite.encode(request), maxDecodedBytes: 1 << 24) == request)
    }
}

// MARK: - Unknown fields, other messages, field order

@Suite struct RemoteWriteWireTests {
    /// Every level carries unknown fields of each wire type (0, 1, 2, 5);
    /// known fields come out of order and repeated (last scalar wins).
    static func withUnknownFields() -> [UInt8] {
        var req = PB()
        req.varint(2, 77)  // reserved field 2, varint
        req.message(3) { md in  // metadata
            md.varint(1, 1); md.string(2, "up"); md.string(4, "help"); md.string(5, "")
            md.fixed32(9, 1)
        }
        req.message(1) { ts in
            ts.fixed64(9, 1)
            ts.message(2) { s in  // timestamp before value, unknowns
                s.varint(2, UInt64(bitPattern: -5)); s.fixed32(7, 9); s.fixed64(1, 0x4000_0000_0000_0000)
                s.bytes(8, [1, 2, 3]); s.varint(15, 1)
            }
            ts.message(1) { l in  // value before name, name repeated
                l.string(2, "v"); l.varint(3, 1); l.string(1, "old"); l.fixed64(4, 0); l.fixed32(5, 0)
                l.bytes(6, [9]); l.string(1, "__name__")
            }
            ts.message(1) { l in
                l.string(1, "job"); l.string(2, "x")
            }
            ts.message(3) { e in  // exemplar
                e.message(1) { l in
                    l.string(1, "trace_id"); l.string(2, "abc")
                }
                e.fixed64(2, 0); e.varint(3, 5); e.fixed32(11, 0)
            }
            ts.message(4) { h in  // histogram: packed and unpacked repeated fields
                h.varint(1, 10); h.fixed64(3, 0); h.varint(4, 6)
                h.message(8) { s in
                    s.varint(1, 3); s.varint(2, 2)
                }
                h.bytes(9, [2, 0x81, 0x01]); h.varint(9, 4)
                h.bytes(10, [UInt8](repeating: 0, count: 16)); h.fixed64(13, 0)
                h.message(11) { s in s.varint(2, 1) }
                h.varint(14, 1); h.varint(15, 123); h.bytes(99, [])
            }
            ts.message(4) { _ in }
            ts.bytes(12, Array("zz".utf8)); ts.fixed32(13, 0); ts.varint(14, 0)
            ts.message(2) { _ in }  // Sample{} = (0, 0.0)
        }
        req.fixed64(100_000, 3)
        req.message(3) { _ in }
        req.fixed32((1 << 29) - 1, 1)  // largest field number
        return req.bytes
    }

    @Test func unknownFieldsOfEveryWireTypeAreSkipped() throws {
        let request = try RemoteWrite.decode(protobuf: Self.withUnknownFields())
        #expect(
            request.series == [
                RemoteWriteSeries(
                    labels: Labels(sorted: [Label("__name__", "v"), Label("job", "x")]),
                    samples: [Sample(timestamp: -5, value: 2.0), Sample(timestamp: 0, value: 0)],
                    exemplarCount: 1, histogramCount: 2)
            ])
        #expect(request.exemplarCount == 1 && request.histogramCount == 2 && request.metadataCount == 2)
    }

    @Test(arguments: [3, 4, 6, 7] as [UInt64])
    func groupsAndInvalidWireTypesAreRefused(wireType: UInt64) {
        var req = PB()
        req.message(1) { ts in
            ts.message(1) { l in
                l.string(1, "a"); l.string(2, "b")
            }
        }
        let offset = req.bytes.count
        req.key(9, wireType)
        req.uvarint(0)
        guard case .failure(let error) = attempt(req.bytes) else { Issue.record("accepted wire type \(wireType)"); return }
        #expect(error.kind == .protobuf(.corrupt, offset: offset))
        #expect(error.description.contains("byte \(offset)"))
    }

    @Test func knownFieldsWithTheWrongWireTypeAreRefused() {
        let cases: [(String, [UInt8])] = [
            ("timeseries as varint", hex("0800")),
            ("labels as varint", hex("0a020800")),
            ("samples as fixed64", hex("0a09110000000000000000")),
            ("label name as varint", hex("0a040a020800")),
            ("sample value as varint", hex("0a0412020800")),
            ("sample timestamp as fixed32", hex("0a0712051500000000")),
            ("exemplar value as varint", hex("0a041a021000")),
            ("histogram count as bytes", hex("0a0422020a00")),
            ("metadata type as bytes", hex("1a020a00"))
        ]
        for (name, body) in cases {
            guard case .failure(let error) = attempt(body) else { Issue.record("accepted \(name)"); continue }
            guard case .protobuf(.corrupt, _) = error.kind else { Issue.record("\(name): \(error)"); continue }
        }
    }

    @Test func malformedNestedMessagesAreRefusedWithTheirOffset() {
        // TimeSeries of 7 bytes holding a histogram whose packed doubles are 3 bytes long.
        let body = hex("0a07" + "2205" + "5203000000")
        guard case .failure(let error) = attempt(body) else { Issue.record("accepted"); return }
        #expect(error.kind == .protobuf(.corrupt, offset: 4))
        // A label length that crosses the end of its TimeSeries (but not of the body).
        let crossing = hex("0a02" + "0a05" + "0a0161120162")
        guard case .failure(let e2) = attempt(crossing) else { Issue.record("accepted"); return }
        #expect(e2.kind == .protobuf(.corrupt, offset: 3))
        // A varint longer than 64 bits.
        let long = hex("0a0d" + "120b" + "10ffffffffffffffffff02")
        guard case .failure(let e3) = attempt(long) else { Issue.record("accepted"); return }
        #expect(e3.kind == .protobuf(.overflow, offset: 5))
    }
}

// MARK: - Corruption never crashes

@Suite struct RemoteWriteCorruptionTests {
    static func body() -> [UInt8] {
        var rng = SplitMix64(seed: 42)
        var request = randomRequest(&rng)
        request.series.append(rwSeries([("__name__", "up"), ("job", "a")], [Sample(timestamp: -1, valueBits: Sample.staleNaNBits)]))
        var bytes = RemoteWrite.encodeProtobuf(request)
        bytes += RemoteWriteWireTests.withUnknownFields()
        return bytes
    }

    @Test func everyTruncationFailsAsTruncatedOrDecodesAPrefix() throws {
        let full = Self.body()
        let all = try RemoteWrite.decode(protobuf: full)
        for cut in 0..<full.count {
            switch attempt(Array(full[..<cut])) {
            case .success(let partial):
                #expect(partial.series == Array(all.series.prefix(partial.series.count)))
            case .failure(let error):
                guard case .protobuf(.truncated, let offset) = error.kind else {
                    Issue.record("cut at \(cut): \(error)"); continue
                }
                #expect(offset <= cut)
            }
        }
    }

    @Test func everySingleByteFlipFailsCleanlyOrDecodes() {
        let full = Self.body()
        for i in full.indices {
            for flip in [0xFF, 0x80, 0x01, 0x7F] as [UInt8] {
                var bytes = full
                bytes[i] ^= flip
                if case .failure(let error) = attempt(bytes) {
                    guard case .protobuf(_, let offset) = error.kind else { Issue.record("\(error)"); continue }
                    #expect(offset <= bytes.count)
                }
            }
        }
    }

    @Test func compressedBodiesTruncatedOrFlipped() {
        let body = RemoteWrite.encode(RemoteWriteRequest(series: [rwSeries([("__name__", "up")], [Sample(timestamp: 5, value: 1)])]))
        for cut in 0..<body.count {
            if case .success = attemptSnappy(Array(body[..<cut])) { Issue.record("truncated snappy body accepted at \(cut)") }
        }
        for i in body.indices {
            var bytes = body
            bytes[i] ^= 0xFF
            _ = attemptSnappy(bytes)
        }
    }
}

// MARK: - Snappy limits

@Suite struct RemoteWriteSnappyTests {
    @Test func bodyClaimingFourGigabytesIsRefusedBeforeAllocating() {
        let bomb: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0, 0, 0, 0, 0]
        guard case .failure(let error) = attemptSnappy(bomb, limit: Int.max) else { Issue.record("accepted"); return }
        #expect(error.kind == .snappy)
    }

    @Test func bodyOverTheLimitIsRefused() {
        // 10 bytes claiming 200: possible for snappy's ratio, over a 100-byte limit.
        let claim: [UInt8] = [0xC8, 0x01, 0, 0, 0, 0, 0, 0, 0, 0]
        guard case .failure(let error) = attemptSnappy(claim, limit: 100) else { Issue.record("accepted"); return }
        #expect(error.kind == .tooLarge(decodedBytes: 200, limit: 100))
        #expect(error.description.contains("200") && error.description.contains("100"))
        // Within the limit it is decompressed, and found to be a lie.
        guard case .failure(let lie) = attemptSnappy(claim, limit: 1000) else { Issue.record("accepted"); return }
        #expect(lie.kind == .snappy)
    }

    @Test func realBombOverTheLimitIsRefused() {
        // 1 MiB of zeros compresses ~21:1 (the format's best); a 64 KiB limit refuses it.
        let zeros = SnappyBlock.compress([UInt8](repeating: 0, count: 1 << 20))
        #expect(zeros.count < 50_000)
        guard case .failure(let error) = attemptSnappy(zeros, limit: 1 << 16) else { Issue.record("accepted"); return }
        #expect(error.kind == .tooLarge(decodedBytes: 1 << 20, limit: 1 << 16))
        // Within the limit: decompressed, then refused as protobuf (field 0).
        guard case .failure(let pb) = attemptSnappy(zeros, limit: 1 << 20) else { Issue.record("accepted"); return }
        #expect(pb.kind == .protobuf(.corrupt, offset: 0))
    }

    @Test func garbageIsNotSnappy() {
        for body in [[], [0x80], [0x05, 0xFF, 0xFF], Array("hello, world".utf8)] as [[UInt8]] {
            guard case .failure(let error) = attemptSnappy(body) else { Issue.record("accepted \(body)"); continue }
            #expect(error.kind == .snappy)
        }
    }
}

// MARK: - Label checks

@Suite struct RemoteWriteLabelTests {
    /// The request's only series, decoded from labels written as given.
    static func decodeOne(_ labels: [(String, String)]) throws -> RemoteWriteSeries {
        let request = RemoteWriteRequest(series: [rwSeries(labels, [Sample(timestamp: 1, value: 1)])])
        return try RemoteWrite.decode(protobuf: RemoteWrite.encodeProtobuf(request)).series[0]
    }

    static func decodeOne(raw labels: [([UInt8], [UInt8])]) throws -> RemoteWriteSeries {
        var req = PB()
        req.message(1) { ts in
            for (name, value) in labels {
                ts.message(1) { l in
                    l.bytes(1, name); l.bytes(2, value)
                }
            }
        }
        return try RemoteWrite.decode(protobuf: req.bytes).series[0]
    }

    static let cases: [(labels: [(String, String)], problem: LabelProblem, index: Int)] = [
        ([], .noLabels, 0),
        ([("a", "")], .noLabels, 0),
        ([("a", "1"), ("", "x")], .emptyName, 1),
        ([("a", "1"), ("b-c", "x")], .invalidName, 1),
        ([("9a", "1")], .invalidName, 0),
        ([("a:b", "1")], .invalidName, 0),
        ([("é", "1")], .invalidName, 0),
        ([("__name__", "9up")], .invalidMetricName, 0),
        ([("__name__", "")], .invalidMetricName, 0),
        ([("__name__", "a-b"), ("job", "x")], .invalidMetricName, 0),
        ([("b", "1"), ("a", "1")], .unsorted, 1),
        ([("a", "1"), ("ab", "1"), ("a", "2")], .unsorted, 2),
        ([("a", "1"), ("a", "2")], .duplicate, 1),
        ([("a", "1"), ("b", ""), ("a", "2")], .duplicate, 2)
    ]

    @Test func eachProblemIsReportedWithItsLabel() throws {
        for c in Self.cases {
            let s = try Self.decodeOne(c.labels)
            guard let error = s.labelError else { Issue.record("\(c.labels) accepted"); continue }
            #expect(error.kind == .invalidLabels(series: 0, label: c.index, problem: c.problem), "\(c.labels)")
            #expect(error.description.hasPrefix("series 0 "), "\(error)")
        }
    }

    @Test func invalidUTF8IsReported() throws {
        let badName = try Self.decodeOne(raw: [(Array("a".utf8), Array("1".utf8)), ([0xFF, 0x61], Array("x".utf8))])
        #expect(badName.labelError?.kind == .invalidLabels(series: 0, label: 1, problem: .invalidNameUTF8))
        let badValue = try Self.decodeOne(raw: [(Array("a".utf8), [0xC0, 0x80])])
        #expect(badValue.labelError?.kind == .invalidLabels(series: 0, label: 0, problem: .invalidValueUTF8))
        let surrogate = try Self.decodeOne(raw: [(Array("a".utf8), [0xED, 0xA0, 0x80])])
        #expect(surrogate.labelError?.kind == .invalidLabels(series: 0, label: 0, problem: .invalidValueUTF8))
    }

    @Test func emptyValuesAreDroppedFromValidSeries() throws {
        let s = try Self.decodeOne([("__name__", "up"), ("a", ""), ("a", "x"), ("b", ""), ("c", "y")])
        #expect(s.isValid)
        #expect(s.labels == Labels(sorted: [Label("__name__", "up"), Label("a", "x"), Label("c", "y")]))
        // Byte order, not Unicode order: "Z" (0x5A) sorts before "a".
        #expect(try Self.decodeOne([("Z", "1"), ("_", "2"), ("a", "3")]).isValid)
    }

    @Test func messagesNameTheSeriesAndTheLabel() throws {
        let dup = try Self.decodeOne([("__name__", "up"), ("job", "a"), ("job", "b")])
        #expect(dup.labelError?.description == "series 0 {__name__=\"up\", job=\"a\", job=\"b\"}: duplicate label name \"job\" (label 2)")
        let unsorted = try Self.decodeOne([("__name__", "up"), ("z", "1"), ("a", ""), ("b", "2")])
        #expect(unsorted.labelError?.description.hasSuffix("labels not sorted by name: \"b\" (label 3) after \"z\"") == true)
    }

    @Test func validSeriesAreKeptBesideInvalidOnes() throws {
        let request = RemoteWriteRequest(series: [
            rwSeries([("__name__", "ok1")], [Sample(timestamp: 1, value: 1)]),
            rwSeries([("__name__", "bad-1")], [Sample(timestamp: 1, value: 1)]),
            rwSeries([("__name__", "ok2")], [Sample(timestamp: 2, value: 2)]),
            rwSeries([("a", "1"), ("a", "1")], [Sample(timestamp: 3, value: 3)])
        ])
        let back = try RemoteWrite.decode(snappyBody: RemoteWrite.encode(request), maxDecodedBytes: 1 << 20)
        #expect(back.series.map(\.isValid) == [true, false, true, false])
        #expect(back.firstLabelError?.kind == .invalidLabels(series: 1, label: 0, problem: .invalidMetricName))
        #expect(back.series.filter(\.isValid).map(\.labels) == [request.series[0].labels, request.series[2].labels])
    }
}

// MARK: - Straight into an append batch

@Suite struct RemoteWriteBatchTests {
    /// What `decode` says the batch must hold: the valid series, in order.
    static func expected(_ request: RemoteWriteRequest) -> [(Labels, [Sample])] {
        request.series.filter(\.isValid).map { ($0.labels, $0.samples) }
    }

    static func contents(_ decoded: RemoteWriteBatch) -> [(Labels, [Sample])] {
        let batch = decoded.batch
        return batch.entries.map { entry in
            #expect(entry.labels == nil && entry.ref == 0 && !entry.spans.isEmpty)
            return (batch.labels(ofSpans: entry.spans), Array(batch.samples[entry.range]))
        }
    }

    @Test func batchesHoldExactlyTheValidSeriesOfDecode() throws {
        var rng = SplitMix64(seed: 0xBA7C_0001)
        for round in 0..<200 {
            var request = randomRequest(&rng)
            // Mix in refused series and empty-valued labels.
            if round % 3 == 0 {
                request.series.insert(rwSeries([("__name__", "bad-name")], [Sample(timestamp: 5, value: 5)]), at: request.series.count / 2)
            }
            if round % 4 == 0 {
                request.series.append(rwSeries([("__name__", "kept"), ("empty", ""), ("job", "j")], [Sample(timestamp: 7, value: 7)]))
            }
            let body = RemoteWrite.encode(request)
            let plain = try RemoteWrite.decode(snappyBody: body, maxDecodedBytes: 1 << 24)
            let batch = try RemoteWrite.decodeBatch(snappyBody: body, maxDecodedBytes: 1 << 24)
            let want = Self.expected(plain), got = Self.contents(batch)
            #expect(got.map(\.0) == want.map(\.0))
            #expect(got.map(\.1) == want.map(\.1))
            #expect(batch.seriesCount == plain.series.count)
            #expect(batch.sampleCount == plain.sampleCount)
            #expect(batch.invalidSamples == plain.series.filter { !$0.isValid }.reduce(0) { $0 + $1.samples.count })
            #expect(batch.firstLabelError == plain.firstLabelError)
        }
    }

    @Test func errorsMatchDecode() {
        let truncated = Array(
            RemoteWrite.encodeProtobuf(
                RemoteWriteRequest(series: [
                    rwSeries([("__name__", "up")], [Sample(timestamp: 1, value: 1)])
                ])
            ).dropLast(3))
        let body = SnappyBlock.compress(truncated)
        #expect(throws: RemoteWriteError.self) { try RemoteWrite.decodeBatch(snappyBody: body, maxDecodedBytes: 1 << 20) }
        #expect(throws: RemoteWriteError.self) { try RemoteWrite.decodeBatch(snappyBody: [0xFF, 0xFF], maxDecodedBytes: 1 << 20) }
    }

}

@Suite struct MetricNamePolicyTests {
    @Test func seriesWithoutMetricNameAreRefusedOnlyWhenRequired() throws {
        let request = RemoteWriteRequest(series: [
            RemoteWriteSeries(labels: Labels([Label("__name__", "up"), Label("job", "a")]), samples: [Sample(timestamp: 1, value: 1)]),
            RemoteWriteSeries(labels: Labels([Label("job", "b")]), samples: [Sample(timestamp: 1, value: 2), Sample(timestamp: 2, value: 3)])
        ])
        let body = RemoteWrite.encode(request)
        let lenient = try RemoteWrite.decodeBatch(snappyBody: body, maxDecodedBytes: 1 << 20)
        #expect(lenient.invalidSamples == 0 && lenient.batch.seriesCount == 2)
        let strict = try RemoteWrite.decodeBatch(snappyBody: body, maxDecodedBytes: 1 << 20, requireMetricName: true)
        #expect(strict.batch.seriesCount == 1)
        #expect(strict.invalidSamples == 2)
        #expect(strict.firstLabelError?.kind == .invalidLabels(series: 1, label: 0, problem: .missingMetricName))
        #expect(strict.firstLabelError?.description.contains("no metric name") == true)
    }
}
