import Formats
import Foundation
import StorageTestSupport
import TestSupport
import Testing

/// Runs the real Prometheus encoder (`promtool tsdb create-blocks-from openmetrics`)
/// and checks that (a) our decoder reads every chunk it wrote back to exactly the
/// input samples and (b) our encoder reproduces each chunk byte for byte.
@Suite(.serialized) struct PromtoolInteropTests {
    typealias Series = Promtool.Series

    static func check(_ input: [Series]) throws {
        let series = input.sorted { $0.labels < $1.labels }
        let blocks = try Promtool.promtoolBlocks(series)
        #expect(!blocks.isEmpty)

        // Chunks appear block by block, series in index order, time ascending.
        var expected: [Sample] = []
        for b in blocks {
            for s in series {
                expected += s.samples.filter { $0.timestamp >= b.minTime && $0.timestamp < b.maxTime }.map(Promtool.viaText)
            }
        }
        var decoded: [Sample] = []
        var chunkCount = 0
        for b in blocks {
            var inBlock = 0
            for record in b.chunks {
                #expect(record.encoding == ChunkEncoding.xor.rawValue)
                let samples = try XORChunk(bytes: record.data).samples()
                decoded += samples
                inBlock += samples.count
                chunkCount += 1
                let reencoded = try XORChunk(encoding: samples).bytes
                #expect(reencoded == record.data, "chunk \(record.ref) re-encodes differently")
            }
            #expect(inBlock == b.numSamples)
        }
        #expect(decoded.count == expected.count)
        #expect(decoded == expected)
        #expect(chunkCount > blocks.count, "expected several chunks per block")
    }

    @Test func generatedSeriesMatchPrometheusBitForBit() throws {
        var rng = SplitMix64(seed: 1234)
        let start: Int64 = 1_700_000_000_000
        var series: [Series] = []
        func add(_ name: String, _ extra: [Label] = [], _ samples: [Sample]) {
            series.append(Series(labels: Labels([Label("__name__", name)] + extra), samples: samples))
        }
        func regular(_ n: Int, every step: Int64, jitter: Int64 = 0, _ value: (Int) -> Double) -> [Sample] {
            (0..<n).map { i in
                let j = jitter == 0 ? 0 : Int64.random(in: -jitter...jitter, using: &rng)
                return Sample(timestamp: start + Int64(i) * step + j, value: value(i))
            }
        }
        add("counter_total", [Label("job", "a")], regular(1200, every: 15_000) { Double($0 * 17) })
        add("gauge", [Label("job", "a")], regular(800, every: 15_000, jitter: 40) { _ in Double.random(in: -100...100, using: &rng) })
        add("constant", [], regular(700, every: 10_000) { _ in 3.25 })
        let specials: [Double] = [.nan, .infinity, -.infinity, -0.0, 0, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 0.1, -2.5e-7]
        add("specials", [], regular(400, every: 1000) { specials[$0 % specials.count] })
        add("fast", [Label("path", "/a \"quoted\" \\ path é")], regular(9000, every: 1000, jitter: 3) { Double($0 % 50) })
        add("single", [], [Sample(timestamp: start + 5, value: 1)])
        add("pair", [], [Sample(timestamp: start + 5, value: 1), Sample(timestamp: start + 6, value: 1e100)])
        var t = start
        let gaps: [Int64] = [1, 7, 100, 8_191, 8_193, 65_537, 524_289, 2_000_000, 15_000, 15_000]
        add(
            "sparse", [Label("le", "+Inf")],
            (0..<600).map { i in
                t += gaps[Int.random(in: 0..<gaps.count, using: &rng)]
                return Sample(timestamp: t, value: Double(i))
            })
        add(
            "random_bits", [],
            regular(500, every: 30_000) { _ in
                var v: Double
                repeat { v = Double(bitPattern: rng.next()) } while !v.isFinite
                return v
            })
        for replica in 0..<5 {
            add(
                "up", [Label("instance", "host-\(replica)"), Label("job", replica % 2 == 0 ? "node" : "B")],
                regular(500, every: 15_000, jitter: 5) { _ in 1 })
        }
        try Self.check(series)
    }

    @Test func realScrapedDataMatchesPrometheusBitForBit() throws {
        let file = TestPaths.testData.appendingPathComponent("real-15s.txt.gz")
        var bySeries: [Labels: [Sample]] = [:]
        for line in try gzipLines(file, limit: 40_000) {
            let parsed = try DumpFormat.parse(line)
            bySeries[parsed.labels, default: []].append(parsed.sample)
        }
        // Drop the series the line limit cut in the middle (it is the last one).
        let series = bySeries.map { Series(labels: $0.key, samples: $0.value) }.sorted { $0.labels < $1.labels }.dropLast()
        #expect(series.count > 50)
        try Self.check(Array(series))
    }
}
