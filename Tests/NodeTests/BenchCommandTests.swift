import Foundation
import TestSupport
import Testing

@testable import Engine
@testable import Formats

extension NodeProcessSuites {
    /// `muninn bench head …` and `muninn bench push` on tiny workloads: each runs to
    /// the end and prints figures that agree with the workload it was given.
    @Suite struct BenchCommandTests {
        /// Five label sets; asking for 12 series repeats them with `bench_replica`.
        static func labelsFile() throws -> String {
            let path = Scratch.directory("bench-labels").path + "/labels.json"
            let lines = (0..<5).map { #"{"__name__":"bench_metric","job":"j","instance":"i\#($0)"}"# }
            try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }

        /// `key=value` fields of the output, wherever they are on a line.
        static func figures(_ stdout: String) -> [String: String] {
            var out: [String: String] = [:]
            for token in stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
                guard let eq = token.firstIndex(of: "=") else { continue }
                out[String(token[..<eq])] = String(token[token.index(after: eq)...])
            }
            return out
        }

        static func run(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: String] {
            let r = try muninn(arguments)
            #expect(r.status == 0, "\(arguments.joined(separator: " ")): \(r.stderr)", sourceLocation: sourceLocation)
            return figures(r.stdout)
        }

        static func positive(_ value: String?) -> Bool { (value.flatMap(Double.init) ?? 0) > 0 }

        @Test func headAppendMemoryAndQuery() throws {
            let labels = try Self.labelsFile()
            let append = try Self.run(["bench", "head", "append", "--labels", labels, "--series", "12", "--scrapes", "3"])
            #expect(append["samples"] == "36")
            #expect(Self.positive(append["cpu_seconds"]) && Self.positive(append["wall_seconds"]), "\(append)")
            #expect(Self.positive(append["samples_per_cpu_second"]), "\(append)")

            let memory = try Self.run(["bench", "head", "memory", "--labels", labels, "--series", "12", "--samples", "2"])
            #expect(memory["series"] == "12" && memory["samples"] == "24", "\(memory)")
            #expect(memory["bytes_per_series"].flatMap(Int.init) != nil, "\(memory)")

            let query = try Self.run(["bench", "head", "query", "--labels", labels, "--series", "12", "--samples", "2"])
            #expect(query["series"] == "12" && query["decode_all_samples"] == "24", "\(query)")
            #expect(Self.positive(query["select_one_microseconds"]) && Self.positive(query["decode_all_samples_per_second"]), "\(query)")
        }

        @Test func headBuildReplayAndFlush() throws {
            let labels = try Self.labelsFile()
            let dir = Scratch.path("bench-build").path
            let build = try Self.run(["bench", "head", "build", "--labels", labels, "--series", "12", "--samples", "3", "--dir", dir])
            #expect(build["series"] == "12" && build["samples"] == "36" && build["block"] == nil, "\(build)")
            let replay = try Self.run(["bench", "head", "replay", "--dir", dir])
            #expect(replay["series"] == "12", "\(replay)")
            #expect(Self.positive(replay["replay_seconds"]) && Self.positive(replay["peak_rss_bytes"]), "\(replay)")
            #expect(Self.positive(replay["peak_over_steady"]), "\(replay)")

            let flushed = Scratch.path("bench-flush").path
            let out = try Self.run([
                "bench", "head", "build", "--labels", labels, "--series", "12", "--samples", "3",
                "--dir", flushed, "--flush"
            ])
            let ulid = try #require(out["block"], "\(out)")
            let block = try BlockReader(directory: flushed + "/" + ulid)
            try block.verify()
            #expect(block.meta.stats.numSeries == 12 && block.meta.stats.numSamples == 36)
        }

        /// 12 series × 3¼ h: the cut writes one block holding the oldest 2 h
        /// (480 samples per series).
        @Test func headCut() throws {
            let cut = try Self.run(["bench", "head", "cut", "--labels", try Self.labelsFile(), "--series", "12"])
            #expect(cut["series"] == "12" && cut["blocks"] == "1", "\(cut)")
            #expect(cut["block_samples"] == "5760", "\(cut)")
            for key in ["cut_seconds", "series_per_second", "append_p50_us_baseline", "append_p99_us_during_cut"] {
                #expect(cut[key].flatMap(Double.init) != nil, "\(key): \(cut)")
            }
        }

        /// Every request is accepted and every sample sent is in the node.
        @Test func pushSendsEverySampleToANode() throws {
            let dir = temporaryDirectory("bench-push")
            let (node, port) = try startNode(dir)
            // 2 connections × 6 series in requests of 5 samples: 2 requests per scrape each.
            let push = try Self.run([
                "bench", "push", "--url", "http://127.0.0.1:\(port)/api/v1/push", "--labels", try Self.labelsFile(),
                "--series", "12", "--scrapes", "4", "--samples-per-request", "5", "--connections", "2",
                "--tenant", "bp"
            ])
            #expect(push["samples"] == "48" && push["requests_ok"] == "16" && push["requests_failed"] == "0", "\(push)")
            #expect(Self.positive(push["samples_per_second"]), "\(push)")
            #expect(node.stop() == 0)

            let db = try TenantDB.open(directory: dir + "/tsdb/bp", tenant: "bp", options: DatabaseOptions(wal: WALOptions(fsync: .never)))
            let series = try db.select(matchers: [try LabelMatcher(.equal, "__name__", "bench_metric")])
            #expect(series.count == 12)
            for s in series {
                #expect(try s.samples().map(\.value) == [0, 1, 2, 3], "\(s.labels)")
            }
            try db.close()
        }

        /// Both phases measured with no failed request, and the flush wrote the
        /// loaded series to a block. One push connection: with several, a push
        /// stamped just before another one's newest sample can land after the
        /// flush moved the minimum valid time past it, and is refused.
        @Test func flushMeasuresANodeBeforeAndDuringAFlush() throws {
            let r = try muninn([
                "bench", "flush", "--labels", try Self.labelsFile(), "--series", "12", "--samples-per-request", "5",
                "--connections", "1", "--baseline-seconds", "0.5", "--keep"
            ])
            #expect(r.status == 0, "\(r.stderr)")
            let figures = Self.figures(r.stdout)
            #expect(Self.positive(figures["flush_seconds"]), "\(r.stdout)")
            for phase in ["baseline", "flush"] {
                let line = try #require(r.stdout.split(separator: "\n").first { $0.hasPrefix(phase + ":") }, "\(r.stdout)")
                let counts = line.matches(of: /\((\d+) requests, (\d+) failed[^)]*\)/).map { (Int($0.1)!, Int($0.2)!) }
                #expect(counts.count == 2, "push and /ready: \(line)")
                for (requests, failed) in counts { #expect(requests > 0 && failed == 0, "\(line)") }
            }
            let dir = try #require(figures["dir"], "\(r.stdout)")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let db = try TenantDB.open(directory: dir + "/data/tsdb/bench", tenant: "bench", options: DatabaseOptions(wal: WALOptions(fsync: .never)))
            defer { try? db.close() }
            // Distinct series over every block: a flush across an aligned 2 h
            // boundary writes one block per range, each with the same series.
            var flushed = Set<Labels>()
            for block in db.blocks {
                for s in try block.select(matchers: [try LabelMatcher(.regexMatch, "__name__", ".+")]) { flushed.insert(s.labels) }
            }
            #expect(flushed.count == 12, "series in blocks")
        }

        /// Two real nodes: they converge, one leaves twice (each node once) and
        /// rejoins, and no trial leaves a stale entry behind.
        @Test func clusterMeasuresConvergenceAndLeaves() throws {
            let r = try muninn(["bench", "cluster", "--nodes", "2", "--leaves", "2", "--heartbeat-period", "1s"])
            #expect(r.status == 0, "\(r.stderr)")
            let row = try #require(r.stdout.split(separator: "\n").last?.split(separator: " ").map(String.init), "\(r.stdout)")
            #expect(row.count == 9, "\(r.stdout)")
            #expect(row.first == "2" && Self.positive(row[1]) && row[2] == "2" && row.last == "0", "\(r.stdout)")
        }

        /// The token-spread report names both strategies, and spread-minimizing
        /// tokens are near-even (max/min close to 1).
        @Test func ringTokensReportsBothStrategies() throws {
            let r = try muninn(["bench", "ring-tokens", "--instances-per-zone", "3", "--seeds", "1"])
            #expect(r.status == 0, "\(r.stderr)")
            let lines = r.stdout.split(separator: "\n").map(String.init)
            let spread = try #require(lines.first { $0.hasPrefix("layout=zone-aware strategy=spread-minimizing") }, "\(r.stdout)")
            let random = try #require(lines.first { $0.hasPrefix("layout=zone-aware strategy=random seed=1") }, "\(r.stdout)")
            let spreadRatio = try #require(Self.figures(spread)["max_min_ratio"].flatMap(Double.init))
            let randomRatio = try #require(Self.figures(random)["max_min_ratio"].flatMap(Double.init))
            #expect(spreadRatio >= 1 && spreadRatio < 1.05 && randomRatio > spreadRatio, "\(r.stdout)")
        }
    }
}
