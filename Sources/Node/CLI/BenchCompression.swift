import ArgumentParser
import Foundation
import Tools

#if canImport(Glibc)
    import Glibc
#endif

/// `muninn bench compression`: bytes per sample and encode/decode speed of the
/// XOR chunk encoding against raw and general-purpose compression, on real
/// data, with the XOR bit breakdown (see README "Compression benchmark").
struct BenchCompression: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compression",
        abstract: "Bytes per sample and codec speed on a promtool dump, OpenMetrics file or block/database directory.")

    enum Format: String, ExpressibleByArgument, CaseIterable { case table, csv, json }

    /// Optional to the parser so that leaving it out gets `missingInput`, which
    /// says what to pass, instead of the parser's bare "missing argument".
    @Option(
        help:
            "Required. promtool tsdb dump text or OpenMetrics text (plain or .gz), a block directory or a database directory (the repository's testdata/real-1s.txt.gz is one)."
    )
    var input: String?
    @Option(
        parsing: .singleValue,
        help: "Codecs to run, repeatable or comma separated: \(CompressionCodec.allCases.map(\.rawValue).joined(separator: ", ")). Default: all.")
    var codec: [String] = []
    @Option(help: "Output format: table, csv or json.")
    var format: Format = .table
    @Option(name: .customLong("repeat"), help: "Timed repetitions per codec (the best is reported).")
    var repetitions: Int = 3
    @Option(help: "Input bytes per LZ4/zlib block.")
    var blockSize: Int = 64 << 10

    func run() throws {
        let codecs = try selectedCodecs()
        guard repetitions >= 1 else { throw CLIFailure("--repeat must be at least 1") }
        guard blockSize >= 1024, blockSize <= 64 << 20 else { throw CLIFailure("--block-size must be between 1024 and 67108864") }
        let path = try inputPath()
        let progress = Progress(enabled: isatty(STDERR_FILENO) == 1)
        let data: CompressionInput
        do {
            data = try CompressionInput.read(path: path) { progress.show("reading \(path)", $0) }
        } catch {
            progress.clear()
            throw CLIFailure("\(error)")
        }
        let report: CompressionReport
        do {
            report = try CompressionBench.run(data, codecs: codecs, options: .init(repetitions: repetitions, blockSize: blockSize)) {
                progress.show("measuring \($0.rawValue)", nil)
            }
        } catch {
            progress.clear()
            throw CLIFailure("\(error)")
        }
        progress.clear()
        var out = FileHandleOutputStream.standardOutput
        switch format {
        case .table: print(CompressionTable.table(report), terminator: "", to: &out)
        case .csv: print(CompressionTable.csv(report), terminator: "", to: &out)
        case .json: print(try CompressionTable.json(report), to: &out)
        }
        out.flush()
    }

    func selectedCodecs() throws -> [CompressionCodec] {
        let names = codec.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }.filter { !$0.isEmpty }
        if names.isEmpty { return CompressionCodec.allCases }
        var codecs: [CompressionCodec] = []
        for name in names {
            guard let c = CompressionCodec(rawValue: name) else {
                throw CLIFailure("unknown codec '\(name)' (known: \(CompressionCodec.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            if !codecs.contains(c) { codecs.append(c) }
        }
        return codecs
    }

    /// There is no default file: an installed binary has no repository beside it.
    static let missingInput = """
        no --input given. Pass --input PATH: a file of Prometheus samples in text, plain or gzipped, either \
        `promtool tsdb dump` output, one sample a line: `{__name__="up", job="node"} 1 1795301623122` \
        (label set, value, timestamp in milliseconds), or OpenMetrics text \
        (`up{job="node"} 1 1795301623.122`); or a block, database, data or bucket directory. The Muninn repository's \
        testdata/real-1s.txt.gz is such a file (1000 real series scraped every second).
        """

    func inputPath() throws -> String {
        guard let input else { throw CLIFailure(Self.missingInput) }
        return input
    }
}

/// A one-line progress display on stderr, only when stderr is a terminal.
final class Progress {
    let enabled: Bool
    private var shown = false
    private var lastDraw = 0.0

    init(enabled: Bool) { self.enabled = enabled }

    /// Shows `what` and a bar for `fraction` (nil: no bar); redraws at most 10 times a second.
    func show(_ what: String, _ fraction: Double?) {
        guard enabled else { return }
        let now = Date().timeIntervalSince1970
        if fraction != nil && now - lastDraw < 0.1 { return }
        lastDraw = now
        var line = what
        if let fraction {
            let f = min(max(fraction, 0), 1)
            let filled = Int(f * 30)
            line += " [" + String(repeating: "#", count: filled) + String(repeating: " ", count: 30 - filled) + "] \(Int(f * 100))%"
        }
        StandardStream.error("\r\u{1B}[K\(line)")
        shown = true
    }

    func clear() {
        guard shown else { return }
        StandardStream.error("\r\u{1B}[K")
        shown = false
    }
}
