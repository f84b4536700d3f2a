import Formats
import Foundation
import TestSupport

/// Inputs and promtool plumbing shared by the block tests.
package enum BlockFixtures {
    package typealias Series = Promtool.Series

    package static let start: Int64 = 1_700_000_000_000

    /// docs/format/index.md#reference-example: the 464-byte reference index (as promtool 2.42 writes it).
    package static let referenceIndex = hex(
        """
        baaad70002000000260000000900085f5f6e616d655f5f0161016208696e7374
        616e6365036a6f62027570017801790d10744e00000000000000000000000000
        12030106040705020180a0abfef962bce30208988b05b7000000000000000000
        10030106040805030180a0abfef962002733e100900000000000000c00000001
        0000000100000006c1eeeb510000001000000001000000020000000700000008
        bd9c2e650000001000000001000000020000000200000003fc4154420000000c
        000000020000000400000006001536640000000c000000020000000400000006
        0015366400000008000000010000000473a34a39000000080000000100000006
        92983ace00000008000000010000000473a34a39000000080000000100000006
        92983ace000000220000000301085f5f6e616d655f5f780108696e7374616e63
        658c0101036a6f62a4017a22e62f0000004600000006020000bc0102085f5f6e
        616d655f5f027570d0010208696e7374616e63650178e4010208696e7374616e
        63650179f40102036a6f620161840202036a6f6201629402dfddfea300000000
        0000000500000000000000330000000000000075000000000000012400000000
        000000bc000000000000014e4b8d332e
        """)

    /// The matching 62-byte `chunks/000001`.
    package static let referenceChunks = hex(
        """
        85bd40dd010000001901000480a0abfef9623ff000000000000098753115ffc0fa5ff8d7e7991c
        1101000180a0abfef962400c0000000000000008e4f6f9
        """)

    /// The two series of the reference vector.
    package static func referenceSeries() throws -> [(labels: Labels, chunks: [ChunkMeta])] {
        let first = [
            Sample(timestamp: start, value: 1), Sample(timestamp: start + 15_000, value: 1),
            Sample(timestamp: start + 30_000, value: 0), Sample(timestamp: start + 45_500, value: 1)
        ]
        let second = [Sample(timestamp: start, value: 3.5)]
        return [
            (Labels(["__name__": "up", "instance": "x", "job": "a"]), try chunks(first)),
            (Labels(["__name__": "up", "instance": "y", "job": "b"]), try chunks(second))
        ]
    }

    /// Cuts time-ordered samples into XOR chunks of at most `perChunk` samples.
    package static func chunks(_ samples: [Sample], perChunk: Int = 120) throws -> [ChunkMeta] {
        var chunks: [ChunkMeta] = []
        for i in stride(from: 0, to: samples.count, by: perChunk) {
            let part = samples[i..<min(i + perChunk, samples.count)]
            chunks.append(
                ChunkMeta(
                    minTime: part.first!.timestamp, maxTime: part.last!.timestamp,
                    chunk: try XORChunk(encoding: part)))
        }
        return chunks
    }

    package static func blockInput(_ series: [Series], perChunk: Int = 120) throws -> [(labels: Labels, chunks: [ChunkMeta])] {
        try series.map { ($0.labels, try chunks($0.samples, perChunk: perChunk)) }
    }

    package static func timeRange(_ series: [Series]) -> (minTime: Int64, maxTime: Int64) {
        let all = series.flatMap(\.samples).map(\.timestamp)
        return (all.min()!, all.max()! + 1)
    }

    /// Series of varied shapes: counters, noisy gauges, special values, odd label
    /// values, single-sample series and irregular gaps.
    package static func generatedSeries(seed: UInt64 = 42, count: Int = 40) -> [Series] {
        var rng = SplitMix64(seed: seed)
        var series: [Series] = []
        let specials: [Double] = [.nan, .infinity, -.infinity, -0.0, 0, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 0.1]
        for i in 0..<count {
            var labels = [Label("__name__", "metric_\(i % 7)"), Label("instance", "host-\(i)")]
            if i % 3 == 0 { labels.append(Label("job", "node")) }
            if i % 5 == 0 { labels.append(Label("path", "/a \"quoted\" \\ path é \(i)")) }
            let n = i % 11 == 0 ? 1 : Int.random(in: 50...700, using: &rng)
            var t = start + Int64.random(in: 0...60_000, using: &rng)
            var samples: [Sample] = []
            for j in 0..<n {
                let value: Double
                switch i % 4 {
                case 0: value = Double(j * 17)
                case 1: value = Double.random(in: -100...100, using: &rng)
                case 2: value = specials[j % specials.count]
                default: value = 1
                }
                samples.append(Sample(timestamp: t, value: value))
                t += i % 6 == 5 ? Int64.random(in: 1...300_000, using: &rng) : 15_000 + Int64.random(in: -20...20, using: &rng)
            }
            series.append(Series(labels: Labels(labels), samples: samples))
        }
        return series.sorted { $0.labels < $1.labels }
    }

    /// The first `limit` lines of the real 15 s data, minus the series the limit cut.
    package static func realSeries(limit: Int = 40_000) throws -> [Series] {
        let file = TestPaths.testData.appendingPathComponent("real-15s.txt.gz")
        var bySeries: [Labels: [Sample]] = [:]
        for line in try gzipLines(file, limit: limit) {
            let parsed = try DumpFormat.parse(line)
            bySeries[parsed.labels, default: []].append(parsed.sample)
        }
        var series = bySeries.map { Series(labels: $0.key, samples: $0.value) }.sorted { $0.labels < $1.labels }
        series.removeLast()
        return series
    }

    /// What a text round trip does to a sample: every NaN becomes Go's NaN.
    package static func viaText(_ s: Sample) -> Sample { Promtool.viaText(s) }

    package static var promtool: String { Promtool.promtool }

    /// Runs `promtool tsdb create-blocks-from openmetrics` into `dir/blocks` and
    /// returns the block directories, oldest first.
    package static func promtoolBlocks(_ series: [Series], in dir: URL) throws -> [String] {
        guard FileManager.default.isExecutableFile(atPath: promtool) else {
            throw CommandError(description: "promtool not found at \(promtool): run scripts/install-deps.sh (Debian package 'prometheus')")
        }
        let input = dir.appendingPathComponent("input.om")
        try Promtool.openMetrics(series).write(to: input, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("blocks")
        try run(promtool, ["tsdb", "create-blocks-from", "openmetrics", input.path, out.path])
        return try FileManager.default.contentsOfDirectory(atPath: out.path).filter { ULID($0) != nil }
            .sorted().map { out.appendingPathComponent($0).path }
    }

    /// `promtool tsdb dump` of a data directory, run on a copy (dump needs `wal/`
    /// and creates `chunks_head/`). Samples per series in dump order.
    package static func dump(_ dataDir: String) throws -> [(labels: Labels, samples: [Sample])] {
        let copy = try TestPaths.temporaryDirectory("dump").appendingPathComponent("data")
        defer { try? FileManager.default.removeItem(at: copy.deletingLastPathComponent()) }
        try FileManager.default.copyItem(atPath: dataDir, toPath: copy.path)
        try FileManager.default.createDirectory(at: copy.appendingPathComponent("wal"), withIntermediateDirectories: true)
        let output = try run(promtool, ["tsdb", "dump", copy.path])
        var result: [(labels: Labels, samples: [Sample])] = []
        for line in String(decoding: output, as: UTF8.self).split(separator: "\n") {
            let parsed = try DumpFormat.parse(line)
            if let last = result.last, last.labels.labels.elementsEqual(parsed.labels.labels, by: sameLabel) {
                result[result.count - 1].samples.append(parsed.sample)
            } else {
                result.append((parsed.labels, [parsed.sample]))
            }
        }
        return result
    }

    package static func sameLabel(_ a: Label, _ b: Label) -> Bool {
        a.name.utf8.elementsEqual(b.name.utf8) && a.value.utf8.elementsEqual(b.value.utf8)
    }

    package static func read(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }
}
