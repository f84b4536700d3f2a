import Foundation

/// A problem with a benchmark input: names the file and, for text, the line.
public struct InputError: Error, Equatable, Sendable, CustomStringConvertible {
    public let file: String
    public let line: Int?
    public let reason: String

    public init(file: String, line: Int? = nil, reason: String) {
        self.file = file
        self.line = line
        self.reason = reason
    }

    public var description: String {
        line.map { "\(file): line \($0): \(reason)" } ?? "\(file): \(reason)"
    }
}

/// The samples of a benchmark input and what kind of input it was.
public struct CompressionInput: Sendable {
    public let path: String
    /// "promtool dump", "OpenMetrics", "block" or "database (N blocks)".
    public let kind: String
    public let samples: SeriesSamples

    /// Reads `path`:
    /// * a regular file: `promtool tsdb dump` text or OpenMetrics text, plain or
    ///   gzip (see `TextInput`);
    /// * a block directory (has `meta.json`): every XOR chunk of every series;
    /// * a database directory: every block directly inside it (names with a
    ///   `meta.json`), series merged by label set. The WAL and head are not read,
    ///   and tombstones are not applied: the benchmark measures stored chunks.
    ///
    /// `progress` gets the fraction read of a text file, now and then.
    public static func read(path: String, progress: ((Double) -> Void)? = nil) throws(InputError) -> CompressionInput {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw InputError(file: path, reason: "no such file or directory")
        }
        if !isDirectory.boolValue {
            let reader = try LineReader(path: path)
            let (samples, format) = try TextInput.read(reader, progress: progress)
            guard samples.sampleCount > 0 else { throw InputError(file: path, reason: "no samples") }
            return CompressionInput(path: path, kind: format.rawValue, samples: samples)
        }
        let blocks: [String]
        if FileManager.default.fileExists(atPath: path + "/" + BlockMeta.fileName) {
            blocks = [path]
        } else {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            blocks = names.sorted().map { path + "/" + $0 }
                .filter { FileManager.default.fileExists(atPath: $0 + "/" + BlockMeta.fileName) }
            guard !blocks.isEmpty else {
                throw InputError(file: path, reason: "directory holds no block (no meta.json in it or in any subdirectory)")
            }
        }
        var builder = SeriesSamplesBuilder()
        for block in blocks { try readBlock(block, into: &builder) }
        let samples = builder.build()
        guard samples.sampleCount > 0 else { throw InputError(file: path, reason: "no samples") }
        return CompressionInput(path: path, kind: blocks.count == 1 && blocks[0] == path ? "block" : "database (\(blocks.count) blocks)",
                                samples: samples)
    }

    private static func readBlock(_ directory: String, into builder: inout SeriesSamplesBuilder) throws(InputError) {
        do {
            let reader = try BlockReader(directory: directory)
            for series in try reader.series() {
                let name = series.labels.description
                let i = builder.series(named: name) ?? builder.addSeries(name)
                for sample in try reader.samples(of: series) {
                    builder.append(series: i, timestamp: sample.timestamp, valueBits: sample.value.bitPattern)
                }
            }
        } catch let error as FormatError {
            throw InputError(file: error.file, reason: "offset \(error.offset): \(error.reason)")
        } catch {
            throw InputError(file: directory, reason: "\(error)")
        }
    }
}
