import Benchmark
import Formats
import Foundation

/// Real scraped samples from the repository's testdata/.
public enum RealData {
    /// One array per series, in file order.
    public static func load(_ file: String) -> [(labels: Labels, samples: [Sample])] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("testdata/\(file)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-dc", url.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try! process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        var series: [(labels: Labels, samples: [Sample])] = []
        for line in text.split(separator: "\n") {
            let parsed = try! DumpFormat.parse(line)
            if parsed.labels != series.last?.labels { series.append((parsed.labels, [])) }
            series[series.count - 1].samples.append(parsed.sample)
        }
        return series
    }

    /// Splits series into chunks of at most 120 samples, Prometheus's target size.
    public static func chunks(_ series: [[Sample]]) -> [[Sample]] {
        series.flatMap { s in stride(from: 0, to: s.count, by: 120).map { Array(s[$0..<min($0 + 120, s.count)]) } }
    }
}

/// Custom metrics are integers, so sub-unit figures use a finer unit
/// (picoseconds, milli-bytes); names ending in "/s" prefer larger values.
public func metric(_ name: String) -> BenchmarkMetric {
    .custom(name, polarity: name.hasSuffix("/s") ? .prefersLarger : .prefersSmaller, useScalingFactor: false)
}

public func record(_ benchmark: Benchmark, _ name: String, _ value: Double) {
    benchmark.measurement(metric(name), Int(value.rounded()))
}

public func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
}

public func configuration(_ custom: [String], iterations: Int = 15) -> Benchmark.Configuration {
    .init(metrics: [.wallClock] + custom.map(metric), maxDuration: .seconds(20), maxIterations: iterations)
}
