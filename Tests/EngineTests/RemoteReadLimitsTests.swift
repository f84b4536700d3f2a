@testable import Formats
import StorageTestSupport
import TestSupport
import Testing
@testable import Engine

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
            [try LabelMatcher(.regexNoMatch, "job", ".+")],
        ]
        for matchers in refused {
            let request = RemoteReadRequest(queries: [Self.query([selective]), Self.query(matchers)])
            #expect(throws: RemoteReadError.noSelectiveMatcher(query: 1)) { try request.validate(limits) }
            #expect("\(RemoteReadError.noSelectiveMatcher(query: 1))".contains(
                "query must contain at least one matcher that does not match the empty string"))
        }
        let accepted: [[LabelMatcher]] = [
            [selective],
            [try LabelMatcher(.notEqual, "job", "")],
            [try LabelMatcher(.regexMatch, "__name__", ".+"), try LabelMatcher(.equal, "job", "")],
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

@Suite(.serialized) struct SeriesCursorTests {
    static let hour: Int64 = 3_600_000
    static let base: Int64 = 1_700_000_000_000 / (2 * hour) * (2 * hour)
    static let selector = [try! LabelMatcher(.regexMatch, "__name__", "m|old|new")]

    /// A database holding a block (2 h) and a head: 10 series `m` in both, `old`
    /// only in the block, `new` only in the head.
    static func database() throws -> TenantDB {
        let dir = try TestPaths.temporaryDirectory("cursor").path
        let db = try TenantDB.open(directory: dir, tenant: "t", options: DatabaseOptions(
            wal: WALOptions(segmentSize: 16 * WAL.pageSize, compression: .none, fsync: .never),
            limits: TenantLimits(creationGracePeriod: 0, pastGracePeriod: 0)))
        var t = base
        while t < base + 4 * hour {
            var batch = AppendBatch()
            for i in 0..<10 { batch.add(series("m", ["i": String(i)]), CollectionOfOne(Sample(timestamp: t + Int64(i), value: Double(i)))) }
            if t < base + hour { batch.add(series("old"), CollectionOfOne(Sample(timestamp: t, value: 1))) }
            if t >= base + 3 * hour { batch.add(series("new"), CollectionOfOne(Sample(timestamp: t, value: 2))) }
            _ = try db.append(batch)
            t += 60_000
        }
        #expect(try db.compact().count == 1)
        return db
    }

    static func drain(_ cursor: inout SeriesCursor) throws -> [SeriesData] {
        var out: [SeriesData] = []
        while let s = try cursor.next() { out.append(s) }
        return out
    }

    static func bounds(_ maxSeries: Int = .max, seriesBefore: Int = 0) -> ReadBounds {
        ReadBounds(maxSeries: maxSeries, deadline: .now + .seconds(3600), seriesBefore: seriesBefore)
    }

    @Test func yieldsWhatSelectReturnsMergedAcrossBlocksAndHead() throws {
        let db = try Self.database()
        defer { try? db.close() }
        #expect(db.blockMetas.count == 1)
        for (mint, maxt) in [(Int64.min, Int64.max), (Self.base + Self.hour / 2, Self.base + 3 * Self.hour), (Self.base + 3 * Self.hour, .max)] {
            var cursor = try db.cursor(mint: mint, maxt: maxt, matchers: Self.selector, bounds: Self.bounds())
            let lazy = try Self.drain(&cursor)
            let eager = try db.select(mint: mint, maxt: maxt, matchers: Self.selector)
            #expect(lazy.map(\.labels) == eager.map(\.labels))
            for (a, b) in zip(lazy, eager) { #expect(try a.samples(mint: mint, maxt: maxt) == b.samples(mint: mint, maxt: maxt)) }
            #expect(cursor.count == eager.count)
        }
        var all = try db.cursor(mint: .min, maxt: .max, matchers: Self.selector, bounds: Self.bounds())
        #expect(try Self.drain(&all).count == 12)
    }

    @Test func moreSeriesThanTheLimitThrows() throws {
        let db = try Self.database()
        defer { try? db.close() }
        var fits = try db.cursor(mint: .min, maxt: .max, matchers: Self.selector, bounds: Self.bounds(12))
        #expect(try Self.drain(&fits).count == 12)
        // The head alone holds 11 matching series: refused before anything is read.
        #expect(throws: ReadLimitError.tooManySeries(limit: 10)) {
            _ = try db.cursor(mint: .min, maxt: .max, matchers: Self.selector, bounds: Self.bounds(10))
        }
        // 11 fit the head's copy; the block's `old` is the 12th.
        var lazy = try db.cursor(mint: .min, maxt: .max, matchers: Self.selector, bounds: Self.bounds(11))
        #expect(throws: ReadLimitError.tooManySeries(limit: 11)) { _ = try Self.drain(&lazy) }
        // Series of earlier queries count.
        var later = try db.cursor(mint: .min, maxt: .max, matchers: [try LabelMatcher(.equal, "__name__", "old")],
                                  bounds: Self.bounds(12, seriesBefore: 12))
        #expect(throws: ReadLimitError.tooManySeries(limit: 12)) { _ = try Self.drain(&later) }
    }

    @Test func aReadPastItsDeadlineStops() throws {
        let db = try Self.database()
        defer { try? db.close() }
        let past = ReadBounds(maxSeries: .max, deadline: .now - .seconds(1))
        #expect(throws: ReadLimitError.timeout) { _ = try db.cursor(mint: .min, maxt: .max, matchers: Self.selector, bounds: past) }
    }
}
