@testable import Formats
import Foundation
import TestSupport
import Testing
@testable import Engine

/// Runs the real Prometheus encoder (`promtool tsdb create-blocks-from openmetrics`)
/// and checks that (a) our decoder reads every chunk it wrote back to exactly the
/// input samples and (b) our encoder reproduces each chunk byte for byte.
@Suite(.serialized) struct PromtoolInteropTests {
    static let promtool = "/usr/bin/promtool"

    struct Series {
        var labels: Labels
        var samples: [Sample]
    }

    struct Block {
        var minTime: Int64
        var maxTime: Int64
        var numSamples: Int
        var chunks: [ChunkRecord]
    }

    /// OpenMetrics text: name outside the braces, no spaces, seconds with
    /// millisecond decimals, `# EOF` last.
    static func openMetrics(_ series: [Series]) -> String {
        var out = ""
        for s in series {
            let name = s.labels["__name__"]!
            let rest = s.labels.labels.filter { $0.name != "__name__" }
                .map { "\($0.name)=\(openMetricsQuote($0.value))" }.joined(separator: ",")
            let head = rest.isEmpty ? name : "\(name){\(rest)}"
            for sample in s.samples {
                precondition(sample.timestamp >= 0)
                let ms = String(sample.timestamp % 1000)
                let padded = String(repeating: "0", count: 3 - ms.count) + ms
                out += "\(head) \(DumpFormat.formatGoFloat(sample.value)) \(sample.timestamp / 1000).\(padded)\n"
            }
        }
        return out + "# EOF\n"
    }

    static func openMetricsQuote(_ v: String) -> String {
        "\"" + v.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }

    /// Builds blocks with promtool and reads their chunk segments with our reader.
    static func promtoolBlocks(_ series: [Series]) throws -> [Block] {
        guard FileManager.default.isExecutableFile(atPath: promtool) else {
            throw CommandError(description: "promtool not found at \(promtool): run scripts/install-deps.sh (Debian package 'prometheus')")
        }
        let dir = try TestPaths.temporaryDirectory("promtool")
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("input.om")
        try openMetrics(series).write(to: input, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("blocks")
        try run(promtool, ["tsdb", "create-blocks-from", "openmetrics", input.path, out.path])

        var blocks: [Block] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: out.path) where name.count == 26 {
            let blockDir = out.appendingPathComponent(name)
            let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: blockDir.appendingPathComponent("meta.json"))) as! [String: Any]
            let stats = meta["stats"] as! [String: Any]
            let chunkDir = blockDir.appendingPathComponent("chunks")
            let files = try FileManager.default.contentsOfDirectory(atPath: chunkDir.path).sorted()
            var chunks: [ChunkRecord] = []
            for (index, file) in files.enumerated() {
                chunks += try ChunkSegment.read(path: chunkDir.appendingPathComponent(file).path, segmentIndex: index)
            }
            blocks.append(Block(minTime: (meta["minTime"] as! NSNumber).int64Value,
                                maxTime: (meta["maxTime"] as! NSNumber).int64Value,
                                numSamples: (stats["numSamples"] as! NSNumber).intValue, chunks: chunks))
        }
        return blocks.sorted { $0.minTime < $1.minTime }
    }

    /// What the text round trip does to a value: every NaN becomes Go's NaN.
    static func viaText(_ s: Sample) -> Sample {
        s.value.isNaN ? Sample(timestamp: s.timestamp, valueBits: 0x7FF8_0000_0000_0001) : s
    }

    static func check(_ input: [Series]) throws {
        let series = input.sorted { $0.labels < $1.labels }
        let blocks = try promtoolBlocks(series)
        #expect(!blocks.isEmpty)

        // Chunks appear block by block, series in index order, time ascending.
        var expected: [Sample] = []
        for b in blocks {
            for s in series {
                expected += s.samples.filter { $0.timestamp >= b.minTime && $0.timestamp < b.maxTime }.map(viaText)
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
        add("sparse", [Label("le", "+Inf")], (0..<600).map { i in
            t += gaps[Int.random(in: 0..<gaps.count, using: &rng)]
            return Sample(timestamp: t, value: Double(i))
        })
        add("random_bits", [], regular(500, every: 30_000) { _ in
            var v: Double
            repeat { v = Double(bitPattern: rng.next()) } while !v.isFinite
            return v
        })
        for replica in 0..<5 {
            add("up", [Label("instance", "host-\(replica)"), Label("job", replica % 2 == 0 ? "node" : "B")],
                regular(500, every: 15_000, jitter: 5) { _ in 1 })
        }
        try Self.check(series)
    }

    @Test func realScrapedDataMatchesPrometheusBitForBit() throws {
        let file = TestPaths.sharedData.appendingPathComponent("real-15s.txt.gz")
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
