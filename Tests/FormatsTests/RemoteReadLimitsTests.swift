import Testing

@testable import Formats

@Suite struct RemoteReadValidationTests {
    static func query(_ matchers: [LabelMatcher], start: Int64 = 0, end: Int64 = 10) -> RemoteReadRequest.Query {
        RemoteReadRequest.Query(startMs: start, endMs: end, matchers: matchers)
    }

    @Test func everyQueryNeedsAMatcherThatDoesNotMatchTheEmptyString() throws {
        let limits = RemoteReadLimits()
        let selective = try LabelMatcher(.equal, "__name__", "up")
        let refused: [[LabelMatcher]] = [
            [],
            [try LabelMatcher(.equal, "job", "")],
            [try LabelMatcher(.regexMatch, "__name__", ".*"), try LabelMatcher(.notEqual, "job", "x")],
            [try LabelMatcher(.regexNoMatch, "job", ".+")]
        ]
        for matchers in refused {
            let request = RemoteReadRequest(queries: [Self.query([selective]), Self.query(matchers)])
            #expect(throws: RemoteReadError.noSelectiveMatcher(query: 1)) { try request.validate(limits) }
            #expect(
                "\(RemoteReadError.noSelectiveMatcher(query: 1))".contains(
                    "query must contain at least one matcher that does not match the empty string"))
        }
        let accepted: [[LabelMatcher]] = [
            [selective],
            [try LabelMatcher(.notEqual, "job", "")],
            [try LabelMatcher(.regexMatch, "__name__", ".+"), try LabelMatcher(.equal, "job", "")]
        ]
        for matchers in accepted { try RemoteReadRequest(queries: [Self.query(matchers)]).validate(limits) }
    }

    @Test func queriesPerRequestAreLimited() throws {
        let q = Self.query([try LabelMatcher(.equal, "__name__", "up")])
        let limits = RemoteReadLimits(maxQueries: 3)
        try RemoteReadRequest(queries: Array(repeating: q, count: 3)).validate(limits)
        #expect(throws: RemoteReadError.tooManyQueries(4, limit: 3)) {
            try RemoteReadRequest(queries: Array(repeating: q, count: 4)).validate(limits)
        }
    }

    @Test func startMustNotBeAfterEnd() throws {
        let up = try LabelMatcher(.equal, "__name__", "up")
        try RemoteReadRequest(queries: [Self.query([up], start: 5, end: 5)]).validate(RemoteReadLimits())
        #expect(throws: RemoteReadError.startAfterEnd(query: 0, startMs: 6, endMs: 5)) {
            try RemoteReadRequest(queries: [Self.query([up], start: 6, end: 5)]).validate(RemoteReadLimits())
        }
    }
}

@Suite struct SampledResponseLimitTests {
    static func fleet() throws -> [SeriesData] {
        try (0..<4).map { i in try storedSeries(Labels(["__name__": "cpu", "core": "\(i)"]), regularSamples(count: 50, seed: UInt64(i))) }
    }

    @Test func samplesUpToTheLimitAreSentOneMoreIsRefused() throws {
        let fleet = try Self.fleet()
        var exact = SampledResponseEncoder(maxSamples: 200)
        for s in fleet { try exact.add(s, mint: .min, maxt: .max) }
        try exact.endQuery()
        #expect(exact.finish() == (try RemoteRead.encodeSampledResponse([fleet], ranges: [(.min, .max)])))

        var over = SampledResponseEncoder(maxSamples: 199)
        for s in fleet.dropLast() { try over.add(s, mint: .min, maxt: .max) }
        #expect(throws: ReadLimitError.tooManySamples(limit: 199)) { try over.add(fleet[3], mint: .min, maxt: .max) }
        // Samples outside the range do not count.
        try over.add(fleet[3], mint: 0, maxt: 15_000 * 48)
    }

    @Test func responseBytesUpToTheLimitAreSentOneMoreIsRefused() throws {
        let fleet = try Self.fleet()
        let ranges: [(mint: Int64, maxt: Int64)] = [(.min, .max), (0, 15_000 * 10)]
        let full = try RemoteRead.encodeSampledResponse([fleet, fleet], ranges: ranges)
        let size = try SnappyBlock.decompress(full, maxDecodedBytes: .max).count

        func encode(limit: Int) throws -> [UInt8] {
            var encoder = SampledResponseEncoder(maxResponseBytes: limit)
            for range in ranges {
                for s in fleet { try encoder.add(s, mint: range.mint, maxt: range.maxt) }
                try encoder.endQuery()
            }
            return encoder.finish()
        }
        #expect(try encode(limit: size) == full)
        #expect(throws: ReadLimitError.responseTooLarge(limit: size - 1)) { try encode(limit: size - 1) }
        #expect("\(ReadLimitError.responseTooLarge(limit: 7))".contains("read.maxResponseBytes"))
    }

    @Test func aResponseLimitAboveSnappysIsClamped() {
        #expect(RemoteReadLimits(maxResponseBytes: .max).maxResponseBytes == RemoteRead.maxSampledBytes)
        #expect(RemoteRead.maxSampledBytes == Int(UInt32.max))
    }
}
