import ArgumentParser
import Engine
import Formats
import Foundation
import Tools

/// `muninn blocks`: offline inspection of TSDB blocks (and a tenant database's
/// head for `dump` and `verify`). Read-only: nothing is ever written into PATH.
struct BlocksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blocks",
        abstract: "Inspect TSDB blocks offline (list, analyze, dump, verify); never modifies them.",
        discussion: """
            PATH may be a block directory, a tenant database (<data>/tsdb/<tenant>), a data \
            directory (<data>: every tenant under tsdb/) or a bucket directory (<bucket>/<tenant>/<ULID>).
            """,
        subcommands: [List.self, Analyze.self, Dump.self, Verify.self]
    )

    /// Classifies PATH, turning its errors into one-line CLI failures.
    static func discover(_ path: String) throws -> BlockDiscovery {
        do {
            return try BlockDiscovery(path: path)
        } catch let error as FormatError {
            throw CLIFailure("\(error.file): \(error.reason)")
        } catch {
            throw CLIFailure("\(path): \(error.localizedDescription)")
        }
    }

    /// Runs `body`, reporting every error (format, system, WAL, I/O) as a CLI failure.
    static func reporting<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as FormatError {
            throw CLIFailure("\(error)")
        } catch let error as SystemError {
            throw CLIFailure("\(error)")
        } catch let error as WALCorruption {
            throw CLIFailure("corrupt WAL: \(error)")
        } catch let error as CLIFailure {
            throw error
        } catch {
            throw CLIFailure("\(error.localizedDescription)")
        }
    }

    struct List: ParsableCommand {
        enum Format: String, ExpressibleByArgument { case table, json }

        static let configuration = CommandConfiguration(
            abstract: "One row per block: tenant, ULID, time range, series, samples, chunks, size, bytes per sample.")

        @Argument(help: "Block, tenant database, data directory or bucket directory.")
        var path: String

        @Option(help: "table or json.")
        var format: Format = .table

        func run() throws {
            let blocks = try BlocksCommand.discover(path).blocks
            var rows: [BlockSummary] = []
            var failures: [String] = []
            for block in blocks {
                do {
                    rows.append(try BlockSummary(block))
                } catch {
                    failures.append("\(error)")
                }
            }
            rows.sort { ($0.tenant, $0.minTime, $0.ulid) < ($1.tenant, $1.minTime, $1.ulid) }
            print(format == .json ? try BlocksReport.json(rows) : BlocksReport.table(rows), terminator: "")
            guard failures.isEmpty else { throw CLIFailure(failures.joined(separator: "\nmuninn: ")) }
        }
    }

    struct Analyze: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cardinality report per block: metric names, label names and pairs, chunk sizes.")

        @Argument(help: "Block, tenant database, data directory or bucket directory.")
        var path: String

        @Option(help: "How many entries each top list shows.")
        var limit: Int = 20

        func run() throws {
            guard limit > 0 else { throw CLIFailure("--limit must be positive") }
            let discovery = try BlocksCommand.discover(path)
            let blocks = discovery.blocks
            guard !blocks.isEmpty else { throw CLIFailure("\(path): no blocks in this \(discovery.kind.rawValue)") }
            try BlocksCommand.reporting {
                for (i, block) in blocks.enumerated() {
                    print((i > 0 ? "\n" : "") + BlocksReport.analysis(try BlockAnalysis(block, limit: limit)), terminator: "")
                }
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every CRC and index invariant of every block (and a database's WAL/WBL).",
            discussion: "Prints `ok: …` per intact block or log, else every problem found as FILE: offset N: reason, and exits 1.")

        @Argument(help: "Block, tenant database, data directory or bucket directory.")
        var path: String

        func run() throws {
            let discovery = try BlocksCommand.discover(path)
            var checked = 0, failed = 0, problems = 0
            var out = FileHandleOutputStream.standardOutput
            for database in discovery.databases {
                var results = database.blocks.map { BlockVerifier.verify(block: $0.directory) }
                for log in [database.wal, database.wbl].compactMap({ $0 }) { results.append(BlockVerifier.verify(log: log)) }
                for v in results {
                    checked += 1
                    if v.ok {
                        let what =
                            v.isLog
                            ? "\(v.records) records, \(v.series) series, \(v.samples) samples"
                            : "\(v.series) series, \(v.chunks) chunks, \(v.samples) samples"
                        print("ok: \(v.path): \(what)", to: &out)
                        continue
                    }
                    failed += 1
                    problems += v.problems.count
                    for p in v.problems.prefix(100) { print("\(p)", to: &out) }
                    if v.problems.count > 100 { print("\(v.path): \(v.problems.count - 100) more problems", to: &out) }
                }
            }
            out.flush()
            guard failed == 0 else {
                throw CLIFailure("verify: \(problems) problem(s) in \(failed) of \(checked) blocks and logs under \(discovery.path)")
            }
        }
    }

    struct Dump: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print every sample as `promtool tsdb dump` does: {labels} value timestamp_ms.",
            discussion: """
                A tenant database includes its head (wal/ checkpoint and segments, wbl/), merged \
                with the blocks per series; duplicates print once. A data directory or bucket \
                dumps tenant after tenant.
                """)

        @Argument(help: "Block, tenant database, data directory or bucket directory.")
        var path: String

        @Option(help: "Series selector, e.g. '{__name__=\"up\",job=~\"n.*\"}'.")
        var match: String?

        @Option(name: .customLong("min-time"), help: "Earliest timestamp to print: milliseconds or RFC 3339.")
        var minTime: String?

        @Option(name: .customLong("max-time"), help: "Latest timestamp to print (inclusive): milliseconds or RFC 3339.")
        var maxTime: String?

        func run() throws {
            var selection = DumpSelection()
            if let match {
                do {
                    selection.matchers = try SelectorParser.parse(match)
                } catch {
                    throw CLIFailure("--match \(match): \(error)")
                }
            }
            if let minTime { selection.minTime = try BlocksCommand.time(minTime, "--min-time") }
            if let maxTime { selection.maxTime = try BlocksCommand.time(maxTime, "--max-time") }
            let discovery = try BlocksCommand.discover(path)
            try BlocksCommand.reporting {
                for database in discovery.databases {
                    try BlockDump.dump(database, selection: selection) { bytes in
                        try FileHandle.standardOutput.write(contentsOf: bytes)
                    }
                }
            }
        }
    }

    static func time(_ text: String, _ option: String) throws -> Int64 {
        guard let ms = TimeText.parseMilliseconds(text) else {
            throw CLIFailure("\(option) \(text): not a millisecond timestamp or RFC 3339 time")
        }
        return ms
    }
}
