import ArgumentParser
import Engine
import Formats
import Foundation

/// `muninn bench head cut`: ingests N series × 3¼ h of 15 s samples, then cuts
/// the oldest 2 h into a block while another thread keeps appending; prints
/// block write throughput, the peak memory the cut added, and append latency
/// percentiles with and without a cut running.
struct BenchCut: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cut", abstract: "Block cut throughput, peak memory, and append latency during a cut.")

    @OptionGroup var workload: BenchHead.Workload

    func run() throws {
        let sets = try workload.labelSets()
        let path = workload.directory()
        let db = try workload.open(path)
        let start: Int64 = 1_700_000_000_000 / 7_200_000 * 7_200_000
        let scrapes = 13 * 60  // 3 h 15 min: the head then spans more than 1.5 ranges
        _ = try BenchHead.ingest(db, sets, scrapes: scrapes, start: start)
        let samplesInBlock = sets.count * 480

        // A second writer appends 100-series batches ahead of the head.
        let probe = (0..<100).map { Labels([Label("__name__", "latency_probe"), Label("i", String($0))]) }
        let writer = LatencyWriter(db: db, series: probe, start: start + Int64(scrapes) * 15_000)
        writer.run(seconds: 2)
        let baseline = writer.takeLatencies()

        let rss0 = status("VmRSS")
        resetPeak()
        writer.startInBackground()
        let t0 = Date()
        let blocks = try db.compact()
        let seconds = Date().timeIntervalSince(t0)
        let duringCut = writer.stop()
        let peak = status("VmHWM") - rss0

        print("series=\(sets.count)")
        print("blocks=\(blocks.count)")
        print("block_samples=\(blocks.first.map { Int($0.stats.numSamples) } ?? 0) (expected \(samplesInBlock))")
        print("cut_seconds=\(fmt(seconds))")
        print("series_per_second=\(Int(Double(sets.count) / seconds))")
        print("samples_per_second=\(Int(Double(samplesInBlock) / seconds))")
        print("cut_peak_extra_rss_bytes=\(peak)")
        print("append_p50_us_baseline=\(fmt(percentile(baseline, 0.5))) append_p99_us_baseline=\(fmt(percentile(baseline, 0.99)))")
        print("append_p50_us_during_cut=\(fmt(percentile(duringCut, 0.5))) append_p99_us_during_cut=\(fmt(percentile(duringCut, 0.99)))")
        print("p99_ratio=\(fmt(percentile(duringCut, 0.99) / max(percentile(baseline, 0.99), 1e-9)))")
        try db.close()
        if workload.dir == nil { try? FileManager.default.removeItem(atPath: path) }
    }

    func percentile(_ xs: [Double], _ p: Double) -> Double {
        guard !xs.isEmpty else { return 0 }
        let sorted = xs.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
    }

    /// Writes `VmHWM` back down to the current RSS (Linux: /proc/self/clear_refs 5).
    func resetPeak() {
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }
}

/// Appends small batches in a loop and records each append's latency (µs).
final class LatencyWriter: @unchecked Sendable {
    private let db: TenantDB
    private let series: [Labels]
    private var next: Int64
    private let lock = NSLock()
    private var latencies: [Double] = []
    private var running = false
    private var done = DispatchSemaphore(value: 0)

    init(db: TenantDB, series: [Labels], start: Int64) {
        self.db = db
        self.series = series
        next = start
    }

    private func once() {
        var batch = AppendBatch()
        for s in series { batch.add(s, timestamp: next, value: 1) }
        next += 1  // 1 ms per batch: the probe must not stretch the head's time span
        let t0 = DispatchTime.now().uptimeNanoseconds
        _ = try? db.append(batch)
        let us = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1000
        lock.lock(); latencies.append(us); lock.unlock()
        usleep(200)
    }

    func run(seconds: Double) {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end { once() }
    }

    func startInBackground() {
        lock.lock(); running = true; lock.unlock()
        done = DispatchSemaphore(value: 0)
        Thread { [self] in
            while true {
                lock.lock(); let go = running; lock.unlock()
                if !go { break }
                once()
            }
            done.signal()
        }.start()
    }

    func stop() -> [Double] {
        lock.lock(); running = false; lock.unlock()
        done.wait()
        return takeLatencies()
    }

    func takeLatencies() -> [Double] {
        lock.lock(); defer { lock.unlock() }
        let out = latencies
        latencies = []
        return out
    }
}
