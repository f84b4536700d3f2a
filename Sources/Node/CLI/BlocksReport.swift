import Formats
import Foundation
import Tools

/// Text and JSON renderings of the `muninn blocks` reports.
enum BlocksReport {
    /// `muninn blocks list` as an aligned table, one row per block.
    static func table(_ rows: [BlockSummary]) -> String {
        let header = ["TENANT", "ULID", "MIN TIME", "MAX TIME", "DURATION", "SERIES", "SAMPLES", "CHUNKS", "SIZE", "BYTES/SAMPLE"]
        let cells = rows.map { r in
            [
                r.tenant, r.ulid, TimeText.utc(r.minTime), TimeText.utc(r.maxTime), TimeText.duration(r.maxTime - r.minTime),
                "\(r.series)", "\(r.samples)", "\(r.chunks)", TimeText.bytes(r.sizeBytes), String(format: "%.3f", r.bytesPerSample)
            ]
        }
        return aligned([header] + cells, rightAligned: Set(5...9))
    }

    /// `muninn blocks list --format json`: an array of objects, one per block.
    static func json(_ rows: [BlockSummary]) throws -> String {
        struct Row: Encodable {
            let tenant, ulid: String
            let minTime, maxTime: Int64
            let minTimeUTC, maxTimeUTC, duration: String
            let series, samples, chunks: UInt64
            let level: Int
            let sizeBytes: Int64
            let bytesPerSample: Double
        }
        let out = rows.map { r in
            Row(
                tenant: r.tenant, ulid: r.ulid, minTime: r.minTime, maxTime: r.maxTime, minTimeUTC: TimeText.utc(r.minTime),
                maxTimeUTC: TimeText.utc(r.maxTime), duration: TimeText.duration(r.maxTime - r.minTime), series: r.series,
                samples: r.samples, chunks: r.chunks, level: r.level, sizeBytes: r.sizeBytes,
                bytesPerSample: (r.bytesPerSample * 1000).rounded() / 1000)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(out), as: UTF8.self) + "\n"
    }

    /// `muninn blocks analyze` for one block.
    static func analysis(_ a: BlockAnalysis) -> String {
        let s = a.summary
        var out = """
            Block \(s.ulid) (tenant \(s.tenant))
            Time: \(TimeText.utc(s.minTime)) to \(TimeText.utc(s.maxTime)) (\(TimeText.duration(s.maxTime - s.minTime)))
            Series: \(s.series)  Chunks: \(s.chunks)  Samples: \(s.samples)
            Label names: \(a.labelNameCount)  Label pairs: \(a.labelPairCount)  Label pair entries: \(a.labelPairEntries)
            Size: \(TimeText.bytes(s.sizeBytes)) (index \(TimeText.bytes(a.indexBytes)))  \
            Bytes/sample: \(String(format: "%.3f", s.bytesPerSample)) on disk, \(String(format: "%.3f", a.chunkBytesPerSample)) chunk data

            """
        out += "\nTop metric names by series:\n"
        out += aligned(a.metricNames.map { ["\($0.count)", $0.name] }, rightAligned: [0], indent: "  ")
        out += "\nLabel names by distinct values:\n"
        out += aligned(
            [["VALUES", "SERIES", "NAME"]] + a.labelNames.map { ["\($0.values)", "\($0.series)", $0.name] },
            rightAligned: [0, 1], indent: "  ")
        out += "\nLabel pairs by series:\n"
        out += aligned(a.labelPairs.map { ["\($0.count)", $0.name] }, rightAligned: [0], indent: "  ")
        out += "\nChunks:\n"
        let header = ["", "MIN", "P50", "P90", "P99", "MAX", "MEAN"]
        func row(_ name: String, _ d: BlockAnalysis.Distribution) -> [String] {
            [name, "\(d.min)", "\(d.p50)", "\(d.p90)", "\(d.p99)", "\(d.max)", String(format: "%.1f", d.mean)]
        }
        out += aligned(
            [header, row("bytes per chunk", a.chunkBytes), row("samples per chunk", a.samplesPerChunk)],
            rightAligned: Set(1...6), indent: "  ")
        return out
    }

    /// Columns padded to their widest cell, separated by two spaces.
    static func aligned(_ rows: [[String]], rightAligned: Set<Int>, indent: String = "") -> String {
        guard let first = rows.first else { return "" }
        var widths = [Int](repeating: 0, count: first.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        var out = ""
        for row in rows {
            var line = indent
            for (i, cell) in row.enumerated() {
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                if i > 0 { line += "  " }
                line += rightAligned.contains(i) ? pad + cell : (i == row.count - 1 ? cell : cell + pad)
            }
            out += line + "\n"
        }
        return out
    }
}
