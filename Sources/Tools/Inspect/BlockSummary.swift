import Formats
import Foundation

/// One row of `muninn blocks list`: a block's `meta.json` figures and its size
/// on disk. Only `meta.json` is read and the files are `stat`ed.
package struct BlockSummary: Sendable, Equatable, Codable {
    package let tenant: String
    package let ulid: String
    /// Inclusive, milliseconds.
    package let minTime: Int64
    /// Exclusive, milliseconds.
    package let maxTime: Int64
    package let series: UInt64
    package let samples: UInt64
    package let chunks: UInt64
    package let level: Int
    /// Sum of the sizes of every regular file under the block directory.
    package let sizeBytes: Int64

    /// Size on disk per sample; 0 for an empty block.
    package var bytesPerSample: Double { samples == 0 ? 0 : Double(sizeBytes) / Double(samples) }

    /// Summarizes `block`; throws a `FormatError` naming `meta.json` when it is
    /// missing or invalid.
    package init(_ block: BlockDiscovery.Block) throws {
        let meta = try BlockMeta.read(directory: block.directory)
        tenant = block.tenant
        ulid = meta.ulid.description
        minTime = meta.minTime
        maxTime = meta.maxTime
        series = meta.stats.numSeries
        samples = meta.stats.numSamples
        chunks = meta.stats.numChunks
        level = meta.compaction.level
        sizeBytes = try Self.diskSize(block.directory)
    }

    static func diskSize(_ directory: String) throws -> Int64 {
        var total: Int64 = 0
        guard let walker = FileManager.default.enumerator(atPath: directory) else { return 0 }
        while let name = walker.nextObject() as? String {
            let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/" + name)
            if attributes[.type] as? FileAttributeType == .typeRegular {
                total += (attributes[.size] as? NSNumber)?.int64Value ?? 0
            }
        }
        return total
    }
}
