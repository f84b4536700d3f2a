import Foundation
import StorageTestSupport
import TestSupport
import Testing

@testable import Engine
@testable import Formats

/// Golden and round-trip tests for the index, meta.json and ULID formats.
@Suite struct BlockIndexTests {
    static let start = BlockFixtures.start

    static func referenceIndexSeries() throws -> [(labels: Labels, chunks: [BlockChunkMeta])] {
        try BlockFixtures.referenceSeries().enumerated().map { i, s in
            (
                s.labels,
                [
                    BlockChunkMeta(
                        ref: BlockChunkRef(rawValue: i == 0 ? 8 : 39),
                        minTime: s.chunks[0].minTime, maxTime: s.chunks[0].maxTime)
                ]
            )
        }
    }

    @Test func referenceIndexByteForByte() throws {
        let bytes = try IndexWriter.encode(Self.referenceIndexSeries())
        #expect(bytes.count == 464)
        #expect(bytes == BlockFixtures.referenceIndex)
    }

    @Test func referenceBlockByteForByte() throws {
        let parent = try TestPaths.temporaryDirectory("block-ref")
        defer { try? FileManager.default.removeItem(at: parent) }
        let ulid = ULID("01M806R0E4RDG0QNEN7RZC7Y71")!
        let meta = try #require(
            try BlockWriter.write(
                series: BlockFixtures.referenceSeries(),
                minTime: Self.start, maxTime: Self.start + 45_501,
                into: parent.path, ulid: ulid))
        #expect(meta.stats == BlockMeta.Stats(numSamples: 5, numSeries: 2, numChunks: 2))
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent.path) == [ulid.description])
        let dir = parent.path + "/" + ulid.description
        #expect(try BlockFixtures.read(dir + "/index") == BlockFixtures.referenceIndex)
        #expect(try BlockFixtures.read(dir + "/chunks/000001") == BlockFixtures.referenceChunks)
        #expect(try BlockFixtures.read(dir + "/tombstones") == [0x01, 0x30, 0xBA, 0x30, 0x01, 0, 0, 0, 0])
        // Exactly the meta.json promtool 2.42 wrote for the same samples (docs/format/blocks.md#metajson).
        let expected = """
            {
            \t"ulid": "01M806R0E4RDG0QNEN7RZC7Y71",
            \t"minTime": 1700000000000,
            \t"maxTime": 1700000045501,
            \t"stats": {
            \t\t"numSamples": 5,
            \t\t"numSeries": 2,
            \t\t"numChunks": 2
            \t},
            \t"compaction": {
            \t\t"level": 1,
            \t\t"sources": [
            \t\t\t"01M806R0E4RDG0QNEN7RZC7Y71"
            \t\t]
            \t},
            \t"version": 1
            }
            """
        #expect(String(decoding: try BlockFixtures.read(dir + "/meta.json"), as: UTF8.self) == expected)
        #expect(try BlockMeta.read(directory: dir) == meta)
    }

    @Test func readerDecodesReferenceIndex() throws {
        let index = try IndexReader(bytes: BlockFixtures.referenceIndex, file: "index")
        #expect(index.symbols == ["", "__name__", "a", "b", "instance", "job", "up", "x", "y"])
        #expect(
            index.toc
                == IndexTOC(
                    symbols: 5, series: 0x33, labelIndices: 0x75, labelOffsetTable: 0x124,
                    postings: 0xBC, postingsOffsetTable: 0x14E))
        #expect(index.labelNames() == ["__name__", "instance", "job"])
        #expect(index.labelValues("instance") == ["x", "y"])
        #expect(index.labelValues("nope") == [])
        #expect(try index.allPostings() == [4, 6])
        #expect(try index.postings(name: "job", value: "b") == [6])
        #expect(try index.postings(name: "__name__", value: "up") == [4, 6])
        #expect(try index.postings(name: "job", value: "c") == [])
        let series = try index.allSeries()
        let expected = try Self.referenceIndexSeries()
        #expect(series.map(\.id) == [4, 6])
        #expect(series.map(\.labels) == expected.map(\.labels))
        #expect(series.map(\.chunks) == expected.map(\.chunks))
        try index.verify()
    }

    @Test func generatedSeriesRoundTripThroughTheIndex() throws {
        var rng = SplitMix64(seed: 7)
        var input: [(labels: Labels, chunks: [BlockChunkMeta])] = []
        var ref: UInt64 = 8
        for s in BlockFixtures.generatedSeries(count: 300) {
            var chunks: [BlockChunkMeta] = []
            var t = s.samples[0].timestamp
            for _ in 0..<Int.random(in: 0...4, using: &rng) {
                let end = t + Int64.random(in: 0...7_200_000, using: &rng)
                chunks.append(BlockChunkMeta(ref: BlockChunkRef(rawValue: ref), minTime: t, maxTime: end))
                ref += UInt64.random(in: 20...(1 << 33), using: &rng)
                t = end + Int64.random(in: 1...100_000, using: &rng)
            }
            input.append((s.labels, chunks))
        }
        let index = try IndexReader(bytes: try IndexWriter.encode(input), file: "index")
        try index.verify()
        let series = try index.allSeries()
        #expect(series.map(\.labels) == input.map(\.labels))
        #expect(series.map(\.chunks) == input.map(\.chunks))
        #expect(Set(index.labelNames()) == Set(input.flatMap { $0.labels.labels.map(\.name) }))
        for name in index.labelNames() {
            let values = index.labelValues(name)
            #expect(Set(values) == Set(input.compactMap { $0.labels[name] }))
            for value in values {
                let expected = series.filter { $0.labels[name] == value }.map(\.id)
                #expect(try index.postings(name: name, value: value) == expected)
            }
        }
    }

    @Test func emptyIndexOpens() throws {
        let index = try IndexReader(bytes: try IndexWriter.encode([]), file: "index")
        try index.verify()
        #expect(index.symbols == [""])
        #expect(try index.allSeries().isEmpty)
        #expect(index.labelNames().isEmpty)
    }

    @Test func writerRejectsBadInput() throws {
        let a = Labels(["__name__": "a"]), b = Labels(["__name__": "b"])
        let chunk = BlockChunkMeta(ref: BlockChunkRef(rawValue: 8), minTime: 0, maxTime: 10)
        #expect(throws: BlockWriteError.seriesOutOfOrder(previous: b, next: a)) {
            try IndexWriter.encode([(b, [chunk]), (a, [chunk])])
        }
        #expect(throws: BlockWriteError.seriesOutOfOrder(previous: a, next: a)) {
            try IndexWriter.encode([(a, [chunk]), (a, [chunk])])
        }
        let unsorted = Labels(sorted: [Label("z", "1"), Label("a", "1")])
        #expect(throws: BlockWriteError.invalidLabels(unsorted)) { try IndexWriter.encode([(unsorted, [chunk])]) }
        let overlapping = [chunk, BlockChunkMeta(ref: BlockChunkRef(rawValue: 30), minTime: 10, maxTime: 20)]
        #expect(throws: BlockWriteError.self) { try IndexWriter.encode([(a, overlapping)]) }
        let backwards = [chunk, BlockChunkMeta(ref: BlockChunkRef(rawValue: 4), minTime: 11, maxTime: 20)]
        #expect(throws: BlockWriteError.self) { try IndexWriter.encode([(a, backwards)]) }

        let dir = try TestPaths.temporaryDirectory("index-writer")
        defer { try? FileManager.default.removeItem(at: dir) }
        let writer = try IndexWriter(path: dir.appendingPathComponent("index").path, symbols: ["__name__", "a"])
        #expect(throws: BlockWriteError.unknownSymbol("b")) { try writer.addSeries(b, chunks: [chunk]) }
        try writer.addSeries(a, chunks: [chunk])
        try writer.finish()
        #expect(throws: BlockWriteError.finished) { try writer.addSeries(b, chunks: [chunk]) }
        let index = try IndexReader(path: dir.appendingPathComponent("index").path)
        #expect(try index.allSeries().map(\.labels) == [a])
    }

    // MARK: ULID

    @Test func ulidTextForm() throws {
        // The ULID specification's example: time 1469918176385 encodes as 01ARYZ6S41.
        let ulid = try #require(ULID("01ARYZ6S41TSV4RRFFQ69G5FAV"))
        #expect(ulid.milliseconds == 1_469_918_176_385)
        #expect(ulid.description == "01ARYZ6S41TSV4RRFFQ69G5FAV")
        #expect(ULID("01aryz6s41tsv4rrffq69g5fav") == ulid)
        #expect(ULID("7ZZZZZZZZZZZZZZZZZZZZZZZZZ") == ULID(high: .max, low: .max))
        #expect(ULID("00000000000000000000000000") == ULID(high: 0, low: 0))
        for bad in [
            "", "01ARZ3NDEKTSV4RRFFQ69G5FA", "01ARZ3NDEKTSV4RRFFQ69G5FAVV", "81ARZ3NDEKTSV4RRFFQ69G5FAV",
            "01ARZ3NDEKTSV4RRFFQ69G5FAU", "01ARZ3NDEKTSV4RRFFQ69G5FAI", "01ARZ3NDEKTSV4RRFFQ69G5FAL",
            "01ARZ3NDEKTSV4RRFFQ69G5FAO", "01ARZ3NDEKTSV4RRFFQ69G5FA!", "01ARZ3NDEKTSV4RRFFQ69G5FAé"
        ] {
            #expect(ULID(bad) == nil, "\(bad)")
        }

        var rng = SplitMix64(seed: 3)
        var ulids: [ULID] = []
        for _ in 0..<500 {
            let u = ULID(milliseconds: UInt64.random(in: 0...ULID.maxMilliseconds, using: &rng), using: &rng)
            #expect(ULID(u.description) == u)
            #expect(u.description.count == 26)
            ulids.append(u)
        }
        #expect(ulids.sorted().map(\.description) == ulids.map(\.description).sorted())

        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        let fresh = ULID.make()
        #expect(fresh.milliseconds >= now - 1000 && fresh.milliseconds <= now + 1000)
        #expect(ULID.make() != fresh)
    }

    // MARK: meta.json

    @Test func metaJSONWithThanosSection() throws {
        let ulid = ULID("01M806R0E4RDG0QNEN7RZC7Y71")!
        let meta = BlockMeta(
            ulid: ulid, minTime: 1, maxTime: 2, stats: BlockMeta.Stats(numSamples: 3, numSeries: 1, numChunks: 1),
            compaction: BlockMeta.Compaction(level: 1, sources: [ulid]),
            thanos: BlockMeta.Thanos(
                labels: ["z": "<&>", "a": "1"], segmentFiles: ["000001"],
                files: [
                    .init(relPath: "chunks/000001", sizeBytes: 62),
                    .init(relPath: "index", sizeBytes: 464),
                    .init(relPath: "meta.json")
                ]))
        let text = String(decoding: meta.encoded(), as: UTF8.self)
        let expected = """
            {
            \t"ulid": "01M806R0E4RDG0QNEN7RZC7Y71",
            \t"minTime": 1,
            \t"maxTime": 2,
            \t"stats": {
            \t\t"numSamples": 3,
            \t\t"numSeries": 1,
            \t\t"numChunks": 1
            \t},
            \t"compaction": {
            \t\t"level": 1,
            \t\t"sources": [
            \t\t\t"01M806R0E4RDG0QNEN7RZC7Y71"
            \t\t]
            \t},
            \t"version": 1,
            \t"thanos": {
            \t\t"version": 1,
            \t\t"labels": {
            \t\t\t"a": "1",
            \t\t\t"z": "\\u003c\\u0026\\u003e"
            \t\t},
            \t\t"downsample": {
            \t\t\t"resolution": 0
            \t\t},
            \t\t"source": "receive",
            \t\t"segment_files": [
            \t\t\t"000001"
            \t\t],
            \t\t"files": [
            \t\t\t{
            \t\t\t\t"rel_path": "chunks/000001",
            \t\t\t\t"size_bytes": 62
            \t\t\t},
            \t\t\t{
            \t\t\t\t"rel_path": "index",
            \t\t\t\t"size_bytes": 464
            \t\t\t},
            \t\t\t{
            \t\t\t\t"rel_path": "meta.json"
            \t\t\t}
            \t\t]
            \t}
            }
            """
        #expect(text == expected)
        #expect(try BlockMeta.decode(meta.encoded(), file: "meta.json") == meta)

        let empty = BlockMeta.Thanos(labels: [:])
        let emptyMeta = BlockMeta(ulid: ulid, minTime: 1, maxTime: 2, stats: .init(), compaction: .init(), thanos: empty)
        #expect(String(decoding: emptyMeta.encoded(), as: UTF8.self).contains("\t\"stats\": {},\n"))
        #expect(String(decoding: emptyMeta.encoded(), as: UTF8.self).contains("\t\t\"labels\": {},\n"))
    }

    @Test func metaJSONReadingIsTolerant() throws {
        let text = """
            {"ulid":"01m806r0e4rdg0qnen7rzc7y71","minTime":5,"maxTime":9,"future":{"x":[1,2]},
             "stats":{"numSamples":4,"numFloatSamples":4},
             "compaction":{"level":3,"sources":["01M806R0E4RDG0QNEN7RZC7Y71"],
                           "parents":[{"ulid":"01M806R0E4RDG0QNEN7RZC7Y71","minTime":5,"maxTime":9}],"hints":["from-out-of-order"]},
             "version":1,
             "thanos":{"labels":{"__org_id__":"t"},"downsample":{"resolution":300000},"source":"compactor",
                       "rewrites":[{"sources":[]}],"index_stats":{}}}
            """
        let meta = try BlockMeta.decode(Array(text.utf8), file: "meta.json")
        #expect(meta.ulid.description == "01M806R0E4RDG0QNEN7RZC7Y71")
        #expect(meta.stats == BlockMeta.Stats(numSamples: 4))
        #expect(meta.compaction.level == 3)
        #expect(meta.compaction.parents.count == 1)
        #expect(meta.compaction.hints == ["from-out-of-order"])
        #expect(meta.thanos?.labels == ["__org_id__": "t"])
        #expect(meta.thanos?.downsample.resolution == 300_000)
        #expect(meta.thanos?.version == 1)

        func failure(_ text: String) -> FormatError? {
            do { _ = try BlockMeta.decode(Array(text.utf8), file: "m/meta.json"); return nil } catch { return error }
        }
        #expect(failure(text.replacingOccurrences(of: "\"version\":1", with: "\"version\":2"))?.reason.contains("version 2") == true)
        #expect(
            failure(text.replacingOccurrences(of: "\"minTime\":5,\"maxTime\":9,\"future\"", with: "\"future\""))?.reason.contains("minTime") == true)
        #expect(failure(text.replacingOccurrences(of: "01m806r0e4rdg0qnen7rzc7y71", with: "nope"))?.reason.contains("ULID") == true)
        #expect(failure("{")?.file == "m/meta.json")
        #expect(failure("")?.file == "m/meta.json")
        #expect(failure("[]") != nil)
    }
}
