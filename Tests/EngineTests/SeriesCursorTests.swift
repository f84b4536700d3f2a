import Engine
import Formats
import StorageTestSupport
import Testing

@Suite(.serialized) struct SeriesCursorTests {
    static let selector = [try! LabelMatcher(.regexMatch, "__name__", "m|old|new")]

    /// A database holding a block (2 h) and a head: 10 series `m` in both, `old`
    /// only in the block, `new` only in the head.
    static func database() throws -> TenantDB {
        let dir = try TestPaths.temporaryDirectory("cursor").path
        let db = try TenantDB.open(
            directory: dir, tenant: "t",
            options: DatabaseOptions(
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
        for (mint, maxt) in [(Int64.min, Int64.max), (base + hour / 2, base + 3 * hour), (base + 3 * hour, .max)] {
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
        var later = try db.cursor(
            mint: .min, maxt: .max, matchers: [try LabelMatcher(.equal, "__name__", "old")],
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
