import Formats
import Foundation

/// The real Prometheus encoder (`promtool tsdb create-blocks-from openmetrics`)
/// as a fixture: OpenMetrics input for it, the blocks it writes.
package enum Promtool {
    package static let promtool = "/usr/bin/promtool"

    package struct Series {
        package var labels: Labels
        package var samples: [Sample]

        package init(labels: Labels, samples: [Sample]) {
            self.labels = labels
            self.samples = samples
        }
    }

    package struct Block {
        package var minTime: Int64
        package var maxTime: Int64
        package var numSamples: Int
        package var chunks: [ChunkRecord]
    }

    /// OpenMetrics text: name outside the braces, no spaces, seconds with
    /// millisecond decimals, `# EOF` last.
    package static func openMetrics(_ series: [Series]) -> String {
        var out = ""
        for s in series {
            let name = s.labels["__name__"]!
            let rest = s.labels.labels.filter { $0.name != "__name__" }
                .map { "\($0.name)=\(openMetricsQuote($0.value))" }.joined(separator: ",")
            let head = rest.isEmpty ? name : "\(name){\(rest)}"
            for sample in s.samples {
                precondition(sample.timestamp >= 0)
                let ms = String(sample.timestamp % 1000)
                let padded = String(repeating: "0", count: 3 - ms.count) + ms
                out += "\(head) \(DumpFormat.formatGoFloat(sample.value)) \(sample.timestamp / 1000).\(padded)\n"
            }
        }
        return out + "# EOF\n"
    }

    package static func openMetricsQuote(_ v: String) -> String {
        "\""
            + v.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }

    /// Builds blocks with promtool and reads their chunk segments with our reader.
    package static func promtoolBlocks(_ series: [Series]) throws -> [Block] {
        guard FileManager.default.isExecutableFile(atPath: promtool) else {
            throw CommandError(description: "promtool not found at \(promtool): run scripts/install-deps.sh (Debian package 'prometheus')")
        }
        let dir = try TestPaths.temporaryDirectory("promtool")
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("input.om")
        try openMetrics(series).write(to: input, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("blocks")
        try run(promtool, ["tsdb", "create-blocks-from", "openmetrics", input.path, out.path])

        var blocks: [Block] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: out.path) where name.count == 26 {
            let blockDir = out.appendingPathComponent(name)
            let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: blockDir.appendingPathComponent("meta.json"))) as! [String: Any]
            let stats = meta["stats"] as! [String: Any]
            let chunkDir = blockDir.appendingPathComponent("chunks")
            let files = try FileManager.default.contentsOfDirectory(atPath: chunkDir.path).sorted()
            var chunks: [ChunkRecord] = []
            for (index, file) in files.enumerated() {
                chunks += try ChunkSegment.read(path: chunkDir.appendingPathComponent(file).path, segmentIndex: index)
            }
            blocks.append(
                Block(
                    minTime: (meta["minTime"] as! NSNumber).int64Value,
                    maxTime: (meta["maxTime"] as! NSNumber).int64Value,
                    numSamples: (stats["numSamples"] as! NSNumber).intValue, chunks: chunks))
        }
        return blocks.sorted { $0.minTime < $1.minTime }
    }

    /// What the text round trip does to a value: every NaN becomes Go's NaN.
    package static func viaText(_ s: Sample) -> Sample {
        s.value.isNaN ? Sample(timestamp: s.timestamp, valueBits: 0x7FF8_0000_0000_0001) : s
    }
}

extension ChunkSegment {
    /// Reads and parses a segment file: the chunks promtool or the block writer
    /// left (the engine itself reads segments through `BlockReader`).
    package static func read(path: String, segmentIndex: Int) throws -> [ChunkRecord] {
        try records(in: [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))), segmentIndex: segmentIndex, file: path)
    }
}
