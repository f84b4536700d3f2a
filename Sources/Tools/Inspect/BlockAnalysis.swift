import Engine
import Formats
import Foundation

/// `muninn blocks analyze`: the cardinality report of one block, from its index
/// (postings lists) and a pass over the chunk records' headers.
package struct BlockAnalysis: Sendable {
    /// A name (or `name=value`) and how many series or values it has.
    package struct Count: Sendable, Equatable {
        package let name: String
        package let count: Int
    }

    /// A label name: distinct values and series carrying it.
    package struct LabelName: Sendable, Equatable {
        package let name: String
        package let values: Int
        package let series: Int
    }

    /// Order statistics of a set of integers (nearest-rank percentiles).
    package struct Distribution: Sendable, Equatable {
        package let count: Int
        package let min: Int
        package let p50: Int
        package let p90: Int
        package let p99: Int
        package let max: Int
        package let mean: Double

        init(_ values: [Int]) {
            let v = values.sorted()
            count = v.count
            func rank(_ p: Double) -> Int {
                v.isEmpty ? 0 : v[Swift.max(0, Swift.min(v.count - 1, Int((p * Double(v.count)).rounded(.up)) - 1))]
            }
            min = v.first ?? 0
            p50 = rank(0.5)
            p90 = rank(0.9)
            p99 = rank(0.99)
            max = v.last ?? 0
            mean = v.isEmpty ? 0 : Double(v.reduce(0, +)) / Double(v.count)
        }
    }

    package let summary: BlockSummary
    /// Label names with at least one series.
    package let labelNameCount: Int
    /// Distinct `name=value` pairs, and label pairs summed over all series.
    package let labelPairCount: Int
    package let labelPairEntries: Int
    /// Top `limit` metric names by series, then label names by distinct values,
    /// then label pairs by series; ties by name.
    package let metricNames: [Count]
    package let labelNames: [LabelName]
    package let labelPairs: [Count]
    /// Bytes of chunk data per chunk (record overhead excluded), and samples per
    /// chunk, over every chunk record in the segment files.
    package let chunkBytes: Distribution
    package let samplesPerChunk: Distribution
    /// Chunk data bytes per sample (XOR chunks).
    package let chunkBytesPerSample: Double
    /// Size of the `index` file.
    package let indexBytes: Int64

    /// Analyzes `block`. Throws `FormatError`s for unreadable or corrupt files
    /// (a chunk CRC mismatch included).
    package init(_ block: BlockDiscovery.Block, limit: Int) throws {
        summary = try BlockSummary(block)
        let index = try IndexReader(path: block.directory + "/index")
        let attributes = try FileManager.default.attributesOfItem(atPath: index.file)
        indexBytes = (attributes[.size] as? NSNumber)?.int64Value ?? 0
        var names: [LabelName] = []
        var pairs: [Count] = []
        var metrics: [Count] = []
        var entries = 0
        for name in index.labelNames() {
            let values = index.labelValues(name)
            var series = 0
            for value in values {
                let n = try index.postings(name: name, value: value).count
                series += n
                pairs.append(Count(name: name + "=" + value, count: n))
                if name == "__name__" { metrics.append(Count(name: value, count: n)) }
            }
            entries += series
            names.append(LabelName(name: name, values: values.count, series: series))
        }
        labelNameCount = names.count
        labelPairCount = pairs.count
        labelPairEntries = entries
        func top(_ counts: [Count]) -> [Count] {
            Array(counts.sorted { $0.count != $1.count ? $0.count > $1.count : IndexReader.compareBytes($0.name, $1.name) < 0 }.prefix(limit))
        }
        metricNames = top(metrics)
        labelPairs = top(pairs)
        labelNames = Array(
            names.sorted {
                $0.values != $1.values ? $0.values > $1.values : IndexReader.compareBytes($0.name, $1.name) < 0
            }.prefix(limit))

        var sizes: [Int] = [], counts: [Int] = []
        var xorBytes = 0, xorSamples = 0
        let chunksDir = block.directory + "/chunks"
        for name in try BlockReader.segmentNames(in: chunksDir) {
            let window = try ChunkSegmentWindow(path: chunksDir + "/" + name)
            var offset = ChunkSegment.headerSize
            while offset < window.size {
                let r = try window.record(at: offset)
                guard r.crcMatches else {
                    throw FormatError(file: window.path, offset: r.offset, reason: "chunk CRC32C mismatch (run `muninn blocks verify`)")
                }
                offset = r.next
                let n = window.withData(r) { $0.count < 2 ? 0 : Int($0[0]) << 8 | Int($0[1]) }
                sizes.append(r.length)
                counts.append(n)
                if r.encoding == ChunkEncoding.xor.rawValue {
                    xorBytes += r.length
                    xorSamples += n
                }
            }
        }
        chunkBytes = Distribution(sizes)
        samplesPerChunk = Distribution(counts)
        chunkBytesPerSample = xorSamples == 0 ? 0 : Double(xorBytes) / Double(xorSamples)
    }
}
