import ArgumentParser
import Engine
import Formats
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `muninn bench head …`: measures the head on `promtool tsdb bench write`'s
/// workload (a file of label sets, N series × M scrapes, WAL on). Prints
/// `key=value` lines for scripts; Benchmarks/head-vs-prometheus.sh runs these
/// next to Prometheus and prints ratios.
struct BenchHead: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "head", abstract: "Benchmark the in-memory head (append, memory, replay, query).",
        subcommands: [Append.self, Memory.self, Build.self, Replay.self, Query.self, BenchCut.self])

    struct Workload: ParsableArguments {
        @Option(help: "File of label sets, one JSON object per line (promtool's format).")
        var labels: String
        @Option(help: "Series to create (label sets are repeated with a bench_replica label when needed).")
        var series: Int = 20_000
        @Option(help: "Data directory (a temporary one when omitted).")
        var dir: String?
        @Option(help: "WAL compression: lz4 or none.")
        var walCompression: String = "lz4"

        func labelSets() throws -> [Labels] {
            guard let text = try? String(contentsOfFile: labels, encoding: .utf8) else {
                throw CLIFailure("\(labels): cannot read label file")
            }
            var base: [Labels] = []
            for (n, line) in text.split(separator: "\n").enumerated() {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String] else {
                    throw CLIFailure("\(labels): line \(n + 1): not a JSON object of strings")
                }
                base.append(Labels(object.map { Label($0.key, $0.value) }))
            }
            guard !base.isEmpty else { throw CLIFailure("\(labels): no label sets") }
            return (0..<series).map { i in
                i < base.count ? base[i] : Labels(base[i % base.count].labels + [Label("bench_replica", String(i / base.count))])
            }
        }

        func open(_ path: String) throws -> TenantDB {
            let compression = WALCompression(rawValue: walCompression) ?? .lz4
            return try TenantDB.open(
                directory: path, tenant: "bench",
                options: DatabaseOptions(
                    wal: WALOptions(compression: compression, fsync: .never),
                    limits: TenantLimits(maxSeries: 0, maxSeriesPerMetric: 0, ingestionRate: 0, creationGracePeriod: 0, pastGracePeriod: 0)))
        }

        func directory() -> String {
            dir ?? FileManager.default.temporaryDirectory.appendingPathComponent("muninn-bench-\(UUID().uuidString)").path
        }
    }

    /// Appends `scrapes` rounds of one sample per series, in commits of 1000
    /// series, by labels the first time and by ref afterwards (as promtool does).
    static func ingest(_ db: TenantDB, _ sets: [Labels], scrapes: Int, start: Int64 = 1_700_000_000_000) throws -> Int {
        var refs = [UInt64](repeating: 0, count: sets.count)
        var total = 0
        for scrape in 0..<scrapes {
            let t = start + Int64(scrape) * 15_000
            for lo in stride(from: 0, to: sets.count, by: 1000) {
                var batch = AppendBatch()
                batch.reserveCapacity(series: 1000, samples: 1000)
                for i in lo..<min(lo + 1000, sets.count) {
                    let value = Double(scrape * 1000 + i % 1000)
                    if refs[i] == 0 { batch.add(sets[i], timestamp: t, value: value) } else { batch.add(ref: refs[i], timestamp: t, value: value) }
                }
                let outcome = try db.append(batch)
                if refs[lo] == 0 { for (k, ref) in outcome.refs.enumerated() { refs[lo + k] = ref } }
                total += outcome.accepted
            }
        }
        return total
    }

    struct Append: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Samples per CPU-second of appending through the engine with the WAL on.")
        @OptionGroup var workload: Workload
        @Option var scrapes: Int = 1000

        func run() throws {
            let sets = try workload.labelSets()
            let path = workload.directory()
            let db = try workload.open(path)
            let cpu0 = cpuSeconds(), wall0 = Date()
            let n = try BenchHead.ingest(db, sets, scrapes: scrapes)
            let cpu = cpuSeconds() - cpu0, wall = Date().timeIntervalSince(wall0)
            try db.close()
            if workload.dir == nil { try? FileManager.default.removeItem(atPath: path) }
            print("samples=\(n)")
            print("cpu_seconds=\(fmt(cpu))")
            print("wall_seconds=\(fmt(wall))")
            print("samples_per_cpu_second=\(Int(Double(n) / cpu))")
        }
    }

    struct Memory: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resident memory per series after N series × M samples.")
        @OptionGroup var workload: Workload
        @Option var samples: Int = 10

        func run() throws {
            let sets = try workload.labelSets()
            let path = workload.directory()
            let before = residentBytes()
            let db = try workload.open(path)
            let n = try BenchHead.ingest(db, sets, scrapes: samples)
            let after = residentBytes()
            print("series=\(db.head.seriesCount)")
            print("samples=\(n)")
            print("rss_growth_bytes=\(after - before)")
            print("bytes_per_series=\(Int(Double(after - before) / Double(db.head.seriesCount)))")
            try db.close()
            if workload.dir == nil { try? FileManager.default.removeItem(atPath: path) }
        }
    }

    struct Build: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a database for `replay` to reopen.")
        @OptionGroup var workload: Workload
        @Option var samples: Int = 13
        @Flag(help: "Write the head out as blocks before closing (a block for `muninn blocks` benchmarks).")
        var flush = false

        func run() throws {
            guard let path = workload.dir else { throw ValidationError("--dir is required") }
            let db = try workload.open(path)
            let n = try BenchHead.ingest(db, try workload.labelSets(), scrapes: samples)
            let series = db.head.seriesCount
            let blocks = flush ? try db.flush() : []
            try db.close()
            print("series=\(series)")
            print("samples=\(n)")
            for block in blocks { print("block=\(block.ulid)") }
        }
    }

    struct Replay: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Time and peak memory of reopening (replaying) a database.")
        @Option var dir: String

        func run() throws {
            let wall0 = Date(), cpu0 = cpuSeconds()
            let db = try TenantDB.open(directory: dir, tenant: "bench", options: DatabaseOptions(wal: WALOptions(fsync: .never)))
            let wall = Date().timeIntervalSince(wall0), cpu = cpuSeconds() - cpu0
            let peak = status("VmHWM"), steady = residentBytes()
            print("series=\(db.head.seriesCount)")
            print("replay_seconds=\(fmt(wall))")
            print("replay_cpu_seconds=\(fmt(cpu))")
            print("peak_rss_bytes=\(peak)")
            print("steady_rss_bytes=\(steady)")
            print("peak_over_steady=\(fmt(Double(peak) / Double(steady)))")
            try db.close()
        }
    }

    struct Query: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Select one series among many; decode everything.")
        @OptionGroup var workload: Workload
        @Option var samples: Int = 10

        func run() throws {
            let sets = try workload.labelSets()
            let path = workload.directory()
            let db = try workload.open(path)
            _ = try BenchHead.ingest(db, sets, scrapes: samples)
            let target = sets[sets.count / 2]
            let matchers = try target.labels.map { try LabelMatcher(.equal, $0.name, $0.value) }
            let rounds = 2000
            var start = Date()
            for _ in 0..<rounds { let found = try db.select(matchers: matchers); precondition(found.count == 1) }
            let select = Date().timeIntervalSince(start) / Double(rounds)
            start = Date()
            var decoded = 0
            for s in try db.select(matchers: [try LabelMatcher(.regexMatch, "__name__", ".+")]) { decoded += try s.samples().count }
            let all = Date().timeIntervalSince(start)
            print("series=\(db.head.seriesCount)")
            print("select_one_microseconds=\(fmt(select * 1e6))")
            print("decode_all_samples=\(decoded)")
            print("decode_all_samples_per_second=\(Int(Double(decoded) / all))")
            try db.close()
            if workload.dir == nil { try? FileManager.default.removeItem(atPath: path) }
        }
    }
}

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks that print figures.",
        subcommands: [
            BenchHead.self, BenchPush.self, BenchFlush.self, BenchCompression.self, BenchChaos.self, BenchRingTokens.self,
            BenchCluster.self, BenchGossip.self
        ])
}

func fmt(_ v: Double) -> String { String(format: "%.3f", v) }

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

/// A `/proc/self/status` field in bytes (VmRSS, VmHWM).
func status(_ field: String) -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
        let kb = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return kb * 1024
    }
    return 0
}

func residentBytes() -> Int { status("VmRSS") }
