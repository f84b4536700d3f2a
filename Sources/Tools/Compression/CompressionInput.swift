import Engine
import Formats
import Foundation

/// A problem with a benchmark input: names the file and, for text, the line.
package struct InputError: Error, Equatable, Sendable, CustomStringConvertible {
    package let file: String
    package let line: Int?
    package let reason: String

    package init(file: String, line: Int? = nil, reason: String) {
        self.file = file
        self.line = line
        self.reason = reason
    }

    package var description: String {
        line.map { "\(file): line \($0): \(reason)" } ?? "\(file): \(reason)"
    }
}

/// The samples of a benchmark input and what kind of input it was.
package struct CompressionInput: Sendable {
    package let path: String
    /// "promtool dump", "OpenMetrics", "block" or "database (N blocks)".
    package let kind: String
    package let samples: SeriesSamples

    /// Reads `path`:
    /// * a regular file: `promtool tsdb dump` text or OpenMetrics text, plain or
    ///   gzip (see `TextInput`);
    /// * a block directory (has `meta.json`): every XOR chunk of every series;
    /// * a tenant database, data or bucket directory (`BlockDiscovery`): every
    ///   block, plus each database's head as its WAL and WBL hold it, series
    ///   merged by label set. Tombstones are not applied: the benchmark
    ///   measures stored data.
    ///
    /// `progress` gets the fraction read of a text file, now and then.
    package static func read(path: String, progress: ((Double) -> Void)? = nil) throws(InputError) -> CompressionInput {
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
        if FileManager.default.fileExists(atPath: path + "/" + BlockMeta.fileName) {
            var builder = SeriesSamplesBuilder()
            try readBlock(path, into: &builder)
            return try finish(path, "block", builder)
        }
        let discovery: BlockDiscovery
        do { discovery = try BlockDiscovery(path: path) } catch {
            throw InputError(file: path, reason: "not a block or database directory: \(error)")
        }
        var builder = SeriesSamplesBuilder()
        var blocks = 0, logs = 0
        for database in discovery.databases {
            var newestMaxTime = Int64.min
            for block in database.blocks {
                try readBlock(block.directory, into: &builder)
                newestMaxTime = max(newestMaxTime, (try? BlockMeta.read(directory: block.directory).maxTime) ?? .min)
                blocks += 1
            }
            if database.wal != nil || database.wbl != nil {
                try readHead(database, minValidTime: newestMaxTime, into: &builder)
                logs += 1
            }
        }
        return try finish(path, "\(discovery.kind.rawValue) (\(blocks) blocks\(logs > 0 ? ", head from WAL" : ""))", builder)
    }

    private static func finish(_ path: String, _ kind: String, _ builder: SeriesSamplesBuilder) throws(InputError) -> CompressionInput {
        let samples = builder.build()
        guard samples.sampleCount > 0 else { throw InputError(file: path, reason: "no samples") }
        return CompressionInput(path: path, kind: kind, samples: samples)
    }

    /// The head of a database as its WAL and WBL hold it (read-only, as
    /// `muninn blocks dump` reads it).
    private static func readHead(
        _ database: BlockDiscovery.Database, minValidTime: Int64,
        into builder: inout SeriesSamplesBuilder
    ) throws(InputError) {
        do {
            let head = try HeadSamples(wal: database.wal, wbl: database.wbl, minValidTime: minValidTime)
            for (labels, series) in head.series {
                let name = labels.description
                let i = builder.series(named: name) ?? builder.addSeries(name)
                for sample in series.inOrder + series.outOfOrder {
                    builder.append(series: i, timestamp: sample.timestamp, valueBits: sample.value.bitPattern)
                }
            }
        } catch let error as WALCorruption {
            throw InputError(file: database.wal ?? database.directory, reason: "\(error)")
        } catch {
            throw InputError(file: database.directory, reason: "\(error)")
        }
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
