import Engine
import Formats
import Foundation
import StorageTestSupport
import Testing

/// Interop with the real Prometheus 2.42 (`promtool`): it opens, analyzes and
/// dumps our blocks; our index and chunk files equal its own byte for byte; our
/// reader reads its blocks.
@Suite(.serialized) struct BlockPromtoolTests {
    typealias Series = BlockFixtures.Series

    /// Writes `series` as one block with our writer, then runs `promtool tsdb
    /// list`, `analyze --extended` and `dump` on it; dump must print exactly the
    /// input samples.
    static func checkPromtoolReads(
        _ series: [Series], perChunk: Int = 120, segmentSize: Int = BlockWriter.defaultSegmentSize,
        thanos: BlockMeta.Thanos? = nil
    ) throws {
        let parent = try TestPaths.temporaryDirectory("block-promtool")
        defer { try? FileManager.default.removeItem(at: parent) }
        let range = BlockFixtures.timeRange(series)
        let meta = try #require(
            try BlockWriter.write(
                series: BlockFixtures.blockInput(series, perChunk: perChunk),
                minTime: range.minTime, maxTime: range.maxTime,
                into: parent.path, thanos: thanos, segmentSize: segmentSize))
        #expect(meta.stats.numSamples == UInt64(series.reduce(0) { $0 + $1.samples.count }))
        #expect(meta.stats.numSeries == UInt64(series.count))
        let dir = parent.path + "/" + meta.ulid.description

        let list = String(decoding: try run(BlockFixtures.promtool, ["tsdb", "list", parent.path]), as: UTF8.self)
        #expect(list.contains(meta.ulid.description), "promtool tsdb list: \(list)")
        #expect(list.contains("\(meta.stats.numSamples)"))
        let analyze = String(
            decoding: try run(BlockFixtures.promtool, ["tsdb", "analyze", "--extended", parent.path, meta.ulid.description]),
            as: UTF8.self)
        #expect(analyze.contains("Block ID: \(meta.ulid.description)"), "promtool tsdb analyze: \(analyze)")
        #expect(analyze.contains("Series: \(series.count)"))

        let dumped = try BlockFixtures.dump(parent.path)
        #expect(dumped.map(\.labels) == series.map(\.labels))
        #expect(dumped.map(\.samples) == series.map { $0.samples.map(BlockFixtures.viaText) })

        // Our reader agrees with the input too.
        let reader = try BlockReader(directory: dir)
        try reader.verify()
        let read = try reader.series()
        #expect(read.map(\.labels) == series.map(\.labels))
        #expect(try read.map { try reader.samples(of: $0) } == series.map(\.samples))
        #expect(reader.meta == meta)
    }

    @Test func promtoolReadsGeneratedBlock() throws {
        try Self.checkPromtoolReads(BlockFixtures.generatedSeries(count: 60))
    }

    @Test func promtoolReadsRealDataBlock() throws {
        let series = try BlockFixtures.realSeries()
        #expect(series.count > 50)
        try Self.checkPromtoolReads(series)
    }

    /// Small segments: many chunk files; a series that fits is never split, one
    /// bigger than a segment is. Mimir's thanos section does not bother Prometheus.
    @Test func promtoolReadsManySegmentsAndThanosSection() throws {
        var series = BlockFixtures.generatedSeries(seed: 9, count: 30)
        let big = (0..<3000).map { Sample(timestamp: BlockFixtures.start + Int64($0) * 1000, value: Double($0 % 7)) }
        series.append(Series(labels: Labels(["__name__": "zz_big"]), samples: big))
        try Self.checkPromtoolReads(series, perChunk: 100, segmentSize: 4096, thanos: BlockMeta.Thanos())

        let parent = try TestPaths.temporaryDirectory("block-segments")
        defer { try? FileManager.default.removeItem(at: parent) }
        let range = BlockFixtures.timeRange(series)
        let meta = try #require(
            try BlockWriter.write(
                series: BlockFixtures.blockInput(series, perChunk: 100),
                minTime: range.minTime, maxTime: range.maxTime, into: parent.path,
                thanos: BlockMeta.Thanos(), segmentSize: 4096))
        let reader = try BlockReader(directory: parent.path + "/" + meta.ulid.description)
        #expect(reader.segmentPaths.count > 5)
        let sizes = try reader.segmentPaths.map { try FileManager.default.attributesOfItem(atPath: $0)[.size] as! Int }
        #expect(sizes.allSatisfy { $0 <= 4096 })
        var split = 0
        for s in try reader.series() {
            let segmentsUsed = Set(s.chunks.map(\.ref.segment))
            let estimate = try s.chunks.reduce(0) { $0 + 5 + 1 + (try reader.chunk($1.ref).data.count) + 4 }
            if estimate + ChunkSegment.headerSize <= 4096 {
                #expect(segmentsUsed.count == 1, "\(s.labels) fits one segment but was split")
            } else {
                #expect(segmentsUsed.count > 1)
                split += 1
            }
        }
        #expect(split > 0)
        let thanos = try #require(reader.meta.thanos)
        #expect(thanos.source == "receive")
        #expect(thanos.segmentFiles == reader.segmentPaths.map { String($0.suffix(6)) })
        #expect(thanos.files.map(\.relPath) == thanos.segmentFiles.map { "chunks/" + $0 } + ["index", "meta.json"])
        #expect(
            thanos.files.dropLast().map(\.sizeBytes)
                == (sizes + [try FileManager.default.attributesOfItem(atPath: reader.directory + "/index")[.size] as! Int]).map { Int64($0) })
    }

    /// Builds blocks with promtool, reads them with our reader (every sample must
    /// match the input), rewrites each from the chunks read and compares files.
    @discardableResult
    static func checkByteIdentical(_ input: [Series]) throws -> Int {
        let series = input.sorted { $0.labels < $1.labels }
        let dir = try TestPaths.temporaryDirectory("block-identical")
        defer { try? FileManager.default.removeItem(at: dir) }
        let blocks = try BlockFixtures.promtoolBlocks(series, in: dir)
        #expect(!blocks.isEmpty)
        let ours = dir.appendingPathComponent("ours").path
        try FileManager.default.createDirectory(atPath: ours, withIntermediateDirectories: true)

        var readBack: [Labels: [Sample]] = [:]
        for block in blocks {
            let reader = try BlockReader(directory: block)
            try reader.verify()
            var rewritten: [(labels: Labels, chunks: [ChunkMeta])] = []
            for s in try reader.series() {
                var chunks: [ChunkMeta] = []
                for c in s.chunks {
                    let record = try reader.chunk(c.ref)
                    chunks.append(ChunkMeta(minTime: c.minTime, maxTime: c.maxTime, chunk: XORChunk(bytes: record.data)))
                }
                readBack[s.labels, default: []] += try reader.samples(of: s)
                rewritten.append((s.labels, chunks))
            }
            let meta = try #require(
                try BlockWriter.write(
                    series: rewritten, minTime: reader.meta.minTime, maxTime: reader.meta.maxTime,
                    into: ours, ulid: reader.meta.ulid))
            let mine = ours + "/" + meta.ulid.description
            for file in ["index", "chunks/000001", "meta.json", "tombstones"] {
                let theirs = try BlockFixtures.read(block + "/" + file)
                let written = try BlockFixtures.read(mine + "/" + file)
                #expect(theirs == written, "\(file) differs: \(theirs.count) vs \(written.count) bytes")
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: block + "/chunks") == ["000001"])
        }
        #expect(readBack.count == series.count)
        for s in series {
            #expect(readBack[s.labels] == s.samples.map(BlockFixtures.viaText), "\(s.labels)")
        }
        return blocks.count
    }

    @Test func generatedBlockIsByteIdenticalToPromtool() throws {
        let blocks = try Self.checkByteIdentical(BlockFixtures.generatedSeries(seed: 11, count: 80))
        #expect(blocks > 1, "the sparse series should span several 2 h blocks")
    }

    @Test func realDataBlockIsByteIdenticalToPromtool() throws {
        try Self.checkByteIdentical(try BlockFixtures.realSeries())
    }
}
