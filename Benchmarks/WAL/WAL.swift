import BenchSupport
import Benchmark
import Engine
import Formats
import Foundation

/// WAL append and read on real data pushed time-major (every commit is one
/// scrape of all 1000 series, as remote-write batches arrive).
let benchmarks: @Sendable () -> Void = {
    let series = RealData.load("real-1s.txt.gz")
    let steps = 600
    let seriesRecord = WALRecord.series(series.enumerated().map { WALSeries(ref: UInt64($0.offset + 1), labels: $0.element.labels) }).encoded()
    let commits: [[UInt8]] = (0..<steps).map { step in
        WALRecord.samples(
            series.enumerated().compactMap { i, s in
                step < s.samples.count ? WALSample(ref: UInt64(i + 1), timestamp: s.samples[step].timestamp, value: s.samples[step].value) : nil
            }
        ).encoded()
    }
    let samplesPerRun = commits.reduce(0) { total, rec in
        total
            + (try! { () throws -> Int in
                if case .samples(let s) = try WALRecord.decode(rec) { return s.count }; return 0
            }())
    }
    let payloadBytes = commits.reduce(0) { $0 + $1.count }
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("muninn-wal-bench").path

    for compression in [WALCompression.none, .lz4] {
        for policy in [FsyncPolicy.never, .interval(milliseconds: 1000), .always] {
            // One fsync per commit is slow on any disk; fewer commits keep the run short.
            let count = policy == .always ? 100 : steps
            let samples = samplesPerRun * count / steps
            Benchmark(
                "WAL append \(compression) fsync=\(policy)",
                configuration: configuration(["samples/s", "payload MB/s", "mB/sample on disk (milli-bytes)"], iterations: 8)
            ) { benchmark in
                try? FileManager.default.removeItem(atPath: scratch)
                let clock = ContinuousClock()
                let (wal, _) = try WAL.open(directory: scratch, options: WALOptions(compression: compression, fsync: policy))
                let start = clock.now
                try wal.log([seriesRecord])
                for commit in commits.prefix(count) { try wal.log([commit]) }
                let elapsed = seconds(clock.now - start)
                try wal.close()
                let disk = try WALSegments.list(scratch).reduce(0) { size, index in
                    size + (try WALReader.readSegment(path: scratch + "/" + WALSegments.name(index), segment: index) { _, _ in })
                }
                record(benchmark, "samples/s", Double(samples) / elapsed)
                record(benchmark, "payload MB/s", Double(payloadBytes * count / steps + seriesRecord.count) / 1e6 / elapsed)
                record(benchmark, "mB/sample on disk (milli-bytes)", Double(disk) * 1000 / Double(samples))
            }
        }

        Benchmark("WAL read \(compression)", configuration: configuration(["samples/s", "payload MB/s"])) { benchmark in
            benchmark.stopMeasurement()
            try? FileManager.default.removeItem(atPath: scratch)
            let (wal, _) = try WAL.open(directory: scratch, options: WALOptions(compression: compression, fsync: .never))
            try wal.log([seriesRecord])
            for commit in commits { try wal.log([commit]) }
            try wal.close()
            benchmark.startMeasurement()
            let clock = ContinuousClock()
            let start = clock.now
            var decoder = WALSamplesDecoder()
            var samples = 0, bytes = 0
            try WALReplay.run(directory: scratch, repair: false) { record in
                bytes += record.count
                if record.first == WALRecord.RecordType.samples.rawValue {
                    try decoder.decode(record)
                    samples += decoder.count
                } else {
                    blackHole(try WALRecord.decode(record))
                }
            }
            let elapsed = seconds(clock.now - start)
            precondition(samples == samplesPerRun)
            record(benchmark, "samples/s", Double(samples) / elapsed)
            record(benchmark, "payload MB/s", Double(bytes) / 1e6 / elapsed)
        }
    }
}
