import StorageTestSupport
import Testing

@testable import Engine
@testable import Formats

@Suite struct HeadQueryTests {
    /// Four series; each case names the matchers and the `i` labels selected.
    static let cases: [(String, [String])] = [
        (#"{__name__="up"}"#, ["1", "2", "3"]),
        (#"up{job="a"}"#, ["1", "2"]),
        (#"up{job!="a"}"#, ["3"]),
        (#"{__name__=~"up|down"}"#, ["4", "1", "2", "3"]),  // sorted: "down" < "up"
        (#"{__name__=~"u"}"#, []),  // anchored: no partial match
        (#"up{zone=""}"#, ["2", "3"]),  // empty value = label missing
        (#"up{zone!=""}"#, ["1"]),
        (#"up{zone=~".*"}"#, ["1", "2", "3"]),
        (#"up{zone=~".+"}"#, ["1"]),
        (#"up{zone!~"x"}"#, ["2", "3"]),
        (#"up{job=~"a|b", i!="1"}"#, ["2", "3"]),
        (#"{job="a", nosuch="v"}"#, []),
        (#"{job="a", nosuch=""}"#, ["1", "2"]),
        (#"{__name__=~".+", job!~"a|b"}"#, ["4"])
    ]

    @Test(arguments: cases)
    func selectsWithPrometheusSemantics(selector: String, expected: [String]) throws {
        let db = try openDB()
        try push(db, series("up", ["i": "1", "job": "a", "zone": "x"]), [(t0, 1)])
        try push(db, series("up", ["i": "2", "job": "a"]), [(t0, 1)])
        try push(db, series("up", ["i": "3", "job": "b"]), [(t0, 1)])
        try push(db, series("down", ["i": "4"]), [(t0, 1)])
        let got = try db.select(matchers: try SelectorParser.parse(selector)).map { $0.labels["i"]! }
        #expect(got == expected, "\(selector)")
    }

    @Test func resultsAreSortedAndTimeFiltered() throws {
        let db = try openDB()
        for name in ["b", "a", "c"] { try push(db, series(name), [(t0, 1), (t0 + 1000, 2), (t0 + 2000, 3)]) }
        let all = try db.select(matchers: [try LabelMatcher(.regexMatch, "__name__", ".*")])
        #expect(all.map { $0.labels["__name__"]! } == ["a", "b", "c"])
        let window = try db.select(mint: t0 + 500, maxt: t0 + 1500, matchers: [try LabelMatcher(.equal, "__name__", "a")])
        #expect(try window.first!.samples(mint: t0 + 500, maxt: t0 + 1500) == [Sample(timestamp: t0 + 1000, value: 2)])
        #expect(try db.select(mint: t0 + 5000, maxt: t0 + 6000, matchers: [try LabelMatcher(.equal, "__name__", "a")]).isEmpty)
    }

    @Test func labelNamesAndValues() throws {
        let db = try openDB()
        try push(db, series("up", ["job": "a", "zone": "x"]), [(t0, 1)])
        try push(db, series("up", ["job": "b"]), [(t0, 1)])
        try push(db, series("go_info", ["version": "1.2"]), [(t0, 1)])
        #expect(db.head.labelNames() == ["__name__", "job", "version", "zone"])
        #expect(db.head.labelNames(matchers: [try LabelMatcher(.equal, "job", "b")]) == ["__name__", "job"])
        #expect(db.head.labelValues("job") == ["a", "b"])
        #expect(db.head.labelValues("__name__") == ["go_info", "up"])
        #expect(db.head.labelValues("job", matchers: [try LabelMatcher(.equal, "zone", "x")]) == ["a"])
        #expect(db.head.labelValues("nosuch").isEmpty)
    }

    /// Regexes are decided before the postings are resolved, outside the lock; a
    /// value that appears in between was never judged and must not slip through.
    @Test func seriesAddedBetweenPlanAndResolveStillSatisfyTheMatchers() throws {
        let db = try openDB()
        try push(db, series("up", ["i": "1", "job": "api"]), [(t0, 1)])
        try push(db, series("up", ["i": "2"]), [(t0, 1)])
        let notX = try LabelMatcher(.regexNoMatch, "job", "x.*")
        let isA = try LabelMatcher(.regexMatch, "job", "a.*")
        let plans = (db.head.plan([notX]), db.head.plan([isA]))
        try push(db, series("up", ["i": "3", "job": "xyz"]), [(t0, 1)])  // fails both matchers
        try push(db, series("up", ["i": "4"]), [(t0, 1)])  // no job: !~ matches it
        try push(db, series("up", ["i": "5", "job": "api"]), [(t0, 1)])  // a value already judged
        let excluded = db.head.select(mint: .min, maxt: .max, plan: plans.0).map { $0.labels["i"]! }
        #expect(excluded == ["1", "2", "4", "5"])
        let included = db.head.select(mint: .min, maxt: .max, plan: plans.1).map { $0.labels["i"]! }
        #expect(included == ["1", "5"])
        // A fresh query judges the new value.
        #expect(try db.select(matchers: [notX]).map { $0.labels["i"]! } == ["1", "2", "4", "5"])
    }

    @Test func concurrentWritersAndReadersSeeConsistentData() async throws {
        let db = try openDB()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<4 {
                group.addTask {
                    for step in 0..<300 {
                        var batch = AppendBatch()
                        for i in 0..<20 { batch.add(series("c", ["w": String(w), "i": String(i)]), timestamp: t0 + Int64(step), value: Double(step)) }
                        _ = try db.append(batch)
                    }
                }
            }
            group.addTask {
                for _ in 0..<200 {
                    for s in try db.select(matchers: [try LabelMatcher(.equal, "__name__", "c")]) {
                        let samples = try s.samples()
                        // Each series' samples are a gap-free prefix 0, 1, 2, ...
                        #expect(samples.enumerated().allSatisfy { $0.element.value == Double($0.offset) })
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(db.head.seriesCount == 80)
        #expect(try everything(db).values.allSatisfy { $0.count == 300 })
    }
}

@Suite struct UnicodeLabelTests {
    /// Prometheus compares label bytes: "é" (U+00E9) and "e" + U+0301 are two series.
    @Test func canonicallyEquivalentValuesAreDistinctSeries() throws {
        let db = try openDB()
        try push(db, series("m", ["v": "\u{E9}"]), [(t0, 1)])
        try push(db, series("m", ["v": "e\u{301}"]), [(t0, 2)])
        #expect(db.head.seriesCount == 2)
        #expect(db.head.labelValues("v").count == 2)
        let one = try db.select(matchers: [try LabelMatcher(.equal, "v", "\u{E9}")])
        #expect(one.count == 1)
        #expect(try one.first?.samples() == [Sample(timestamp: t0, value: 1)])
        #expect(Label("v", "\u{E9}") != Label("v", "e\u{301}"))
    }
}
