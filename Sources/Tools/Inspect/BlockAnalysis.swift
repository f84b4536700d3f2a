import Engine
import Formats
import Foundation

/// `muninn blocks analyze`: the cardinality report of one block, from its index
/// (postings lists) and a pass over the chunk records' headers.
public struct BlockAnalysis: Sendable {
    /// A name (or `name=value`) and how many series or values it has.
    public struct Count: Sendable, Equatable {
        public let name: String
        public let count: Int
    }

    /// A label name: distinct values and series carrying it.
    public struct LabelName: Sendable, Equatable {
        public let name: String
        public let values: Int
        public let series: Int
    }

    /// Order statistics of a set of integers (nearest-rank percentiles).
    public struct Distribution: Sendable, Equatable {
        public let count: Int
        public let min: Int
        public let p50: Int
        public let p90: Int
        public let p99: Int
        public let max: Int
        public let mean: Double

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

    public let summary: BlockSummary
    /// Label names with at least one series.
    public let labelNameCount: Int
    /// Distinct `name=value` pairs, and label pairs summed over all series.
    public let labelPairCount: Int
    public let labelPairEntries: Int
    /// Top `limit` metric names by series, then label names by distinct values,
    /// then label pairs by series; ties by name.
    public let metricNames: [Count]
    public let labelNames: [LabelName]
    public let labelPairs: [Count]
    /// Bytes of chunk data per chunk (record overhead excluded), and samples per
    /// chunk, over every chunk record in the segment files.
    public let chunkBytes: Distribution
    public let samplesPerChunk: Distribution
    /// Chunk data bytes per sample (XOR chunks).
    public let chunkBytesPerSample: Double
    /// Size of the `index` file.
    public let indexBytes: Int64

    /// Analyzes `block`. Throws `FormatError`s for unreadable or corrupt files
    /// (a chunk CRC mismatch included).
    public init(_ block: BlockDiscovery.Block, limit: Int) throws {
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
        labelNames = Array(names.sorted {
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
