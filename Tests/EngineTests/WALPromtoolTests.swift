import Engine
import Formats
import Foundation
import StorageTestSupport
import TestSupport
import Testing

/// A WAL written with `compression: none` is read by Prometheus itself:
/// `promtool tsdb dump` replays it when it opens the data directory.
@Suite struct WALPromtoolTests {
    @Test func promtoolDumpReplaysOurWAL() throws {
        guard FileManager.default.isExecutableFile(atPath: Promtool.promtool) else {
            throw CommandError(description: "promtool missing: run scripts/install-deps.sh")
        }
        let db = try TestPaths.temporaryDirectory("wal-promtool")
        let walDir = db.appendingPathComponent("wal").path
        // Small segments so the dump crosses segment boundaries and multi-page records.
        let (wal, _) = try WAL.open(
            directory: walDir,
            options: WALOptions(
                segmentSize: 4 * WAL.pageSize, compression: .none, fsync: .never))
        var rng = SplitMix64(seed: 11)
        var expected: [Labels: [Sample]] = [:]
        var series: [(UInt64, Labels)] = []
        for ref in UInt64(1)...40 {
            let labels = Labels([
                "__name__": ref % 2 == 0 ? "even_total" : "odd", "ref": String(ref),
                "long": String(repeating: "L", count: ref == 7 ? 40_000 : 3)
            ])
            series.append((ref, labels))
        }
        try wal.log(.series(series.map { WALSeries(ref: $0.0, labels: $0.1) }))
        let start: Int64 = 1_700_000_000_000
        for step in 0..<300 {
            var batch: [WALSample] = []
            for (ref, labels) in series.reversed() {
                let t = start + Int64(step) * 15_000 + Int64(ref)
                let v: Double = step % 50 == 7 ? .nan : Double.random(in: -1000...1000, using: &rng).rounded() / 8
                batch.append(WALSample(ref: ref, timestamp: t, value: v))
                expected[labels, default: []].append(Sample(timestamp: t, value: v))
            }
            try wal.log(.samples(batch))
        }
        try wal.close()
        #expect(try WALSegments.list(walDir).count > 1)

        let output = try run(Promtool.promtool, ["tsdb", "dump", db.path])
        var dumped: [Labels: [Sample]] = [:]
        for line in String(decoding: output, as: UTF8.self).split(separator: "\n") {
            let parsed = try DumpFormat.parse(line)
            dumped[parsed.labels, default: []].append(parsed.sample)
        }
        #expect(dumped.count == expected.count)
        for (labels, samples) in expected {
            #expect(dumped[labels] == samples.map(Promtool.viaText), "\(labels)")
        }
    }
}
