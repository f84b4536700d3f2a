import Engine
import Formats
import Foundation
import StorageTestSupport
import Testing

/// BlockWriter's contract beyond the bytes: input checks, skipping, ordering,
/// and that nothing but a complete `<ULID>` directory is ever left behind.
@Suite struct BlockWriterTests {
    static let start = BlockFixtures.start

    static func chunk(_ times: ClosedRange<Int64>, step: Int64 = 1000) throws -> ChunkMeta {
        let samples = stride(from: times.lowerBound, through: times.upperBound, by: Int(step)).map {
            Sample(timestamp: $0, value: Double($0))
        }
        return ChunkMeta(minTime: samples.first!.timestamp, maxTime: samples.last!.timestamp, chunk: try XORChunk(encoding: samples))
    }

    static func contents(_ dir: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
    }

    @Test func noSamplesWritesNothing() throws {
        let parent = try TestPaths.temporaryDirectory("block-empty")
        defer { try? FileManager.default.removeItem(at: parent) }
        let empty = ChunkMeta(minTime: 0, maxTime: 0, chunk: XORChunkBuilder().chunk)
        #expect(try BlockWriter.write(series: [], minTime: 0, maxTime: 10, into: parent.path) == nil)
        #expect(
            try BlockWriter.write(
                series: [(Labels(["a": "1"]), []), (Labels(["a": "2"]), [empty])],
                minTime: 0, maxTime: 10, into: parent.path) == nil)
        #expect(try Self.contents(parent) == [])
    }

    @Test func skipsEmptySeriesAndSortsInput() throws {
        let parent = try TestPaths.temporaryDirectory("block-sort")
        defer { try? FileManager.default.removeItem(at: parent) }
        let b = Labels(["__name__": "b"]), a = Labels(["__name__": "a"]), c = Labels(["__name__": "c"])
        let meta = try #require(
            try BlockWriter.write(
                series: [
                    (b, [try Self.chunk(Self.start...(Self.start + 9000))]), (c, []),
                    (a, [try Self.chunk(Self.start...(Self.start + 2000)), try Self.chunk((Self.start + 3000)...(Self.start + 5000))])
                ],
                minTime: Self.start, maxTime: Self.start + 10_000, into: parent.path))
        #expect(meta.stats == BlockMeta.Stats(numSamples: 16, numSeries: 2, numChunks: 3))
        #expect(meta.compaction == BlockMeta.Compaction(level: 1, sources: [meta.ulid]))
        let reader = try BlockReader(directory: parent.path + "/" + meta.ulid.description)
        try reader.verify()
        let series = try reader.series()
        #expect(series.map(\.labels) == [a, b])
        #expect(series[0].chunks.map(\.ref) == [BlockChunkRef(segment: 0, offset: 8)!, series[0].chunks[1].ref])
        #expect(series[1].chunks[0].ref > series[0].chunks[1].ref)
        #expect(reader.tombstones.isEmpty)
    }

    @Test func rejectsBadInputAndLeavesNothing() throws {
        let parent = try TestPaths.temporaryDirectory("block-reject")
        defer { try? FileManager.default.removeItem(at: parent) }
        let a = Labels(["__name__": "a"])
        let ok = try Self.chunk(Self.start...(Self.start + 5000))
        func attempt(_ series: [(labels: Labels, chunks: [ChunkMeta])], maxTime: Int64 = Self.start + 10_000) -> (any Error)? {
            do {
                _ = try BlockWriter.write(series: series, minTime: Self.start, maxTime: maxTime, into: parent.path)
                return nil
            } catch { return error }
        }
        #expect(attempt([(a, [ok])], maxTime: Self.start) as? BlockWriteError == .invalidTimeRange(minTime: Self.start, maxTime: Self.start))
        #expect(attempt([(a, [ok]), (a, [ok])]) as? BlockWriteError == .seriesOutOfOrder(previous: a, next: a))
        #expect(attempt([(a, [ok])], maxTime: Self.start + 5000) is BlockWriteError, "sample at maxTime (exclusive)")
        #expect(attempt([(a, [ok, ok])]) is BlockWriteError, "overlapping chunks")
        // Found only by the index writer, after the chunk files exist: still nothing left.
        let noName = Labels(sorted: [Label("", "x")])
        #expect(attempt([(noName, [ok])]) as? BlockWriteError == .invalidLabels(noName))
        #expect(try Self.contents(parent) == [])
        #expect(throws: BlockWriteError.self) {
            try BlockWriter.write(
                series: [(a, [ok])], minTime: Self.start, maxTime: Self.start + 10_000,
                into: parent.path, segmentSize: 8)
        }
    }

    /// A leftover `.tmp-for-creation` directory (a crash mid-write) is replaced;
    /// an existing block is never overwritten.
    @Test func leftoversAndExistingBlocks() throws {
        let parent = try TestPaths.temporaryDirectory("block-leftover")
        defer { try? FileManager.default.removeItem(at: parent) }
        let ulid = ULID.make()
        let leftover = parent.appendingPathComponent(ulid.description + BlockWriter.temporarySuffix)
        try FileManager.default.createDirectory(at: leftover.appendingPathComponent("chunks"), withIntermediateDirectories: true)
        try Data([1, 2, 3]).write(to: leftover.appendingPathComponent("index"))

        let series = [(labels: Labels(["__name__": "a"]), chunks: [try Self.chunk(Self.start...(Self.start + 5000))])]
        let meta = try #require(
            try BlockWriter.write(
                series: series, minTime: Self.start, maxTime: Self.start + 5001,
                into: parent.path, ulid: ulid))
        #expect(try Self.contents(parent) == [ulid.description])
        try BlockReader(directory: parent.path + "/" + meta.ulid.description).verify()

        #expect(throws: BlockWriteError.alreadyExists(path: parent.path + "/" + ulid.description)) {
            try BlockWriter.write(series: series, minTime: Self.start, maxTime: Self.start + 5001, into: parent.path, ulid: ulid)
        }
        try BlockReader(directory: parent.path + "/" + meta.ulid.description).verify()
    }

    @Test func segmentNames() {
        #expect(BlockWriter.segmentName(0) == "000001")
        #expect(BlockWriter.segmentName(41) == "000042")
        #expect(BlockWriter.segmentName(999_999) == "1000000")
        #expect(BlockChunkRef(segment: 1 << 32, offset: 0) == nil)
        #expect(BlockChunkRef(segment: 3, offset: 0x1_0000_0000) == nil)
        #expect(BlockChunkRef(segment: 3, offset: 17)?.rawValue == 3 << 32 | 17)
    }
}
