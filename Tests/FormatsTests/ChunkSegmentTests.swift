import Testing
import Formats

@Suite struct ChunkSegmentTests {
    /// docs/format/index.md#reference-example: the chunks/000001 that goes with the reference index.
    @Test func matchesReferenceSegment() throws {
        let first = try XORChunk(encoding: [
            Sample(timestamp: 1_700_000_000_000, value: 1), Sample(timestamp: 1_700_000_015_000, value: 1),
            Sample(timestamp: 1_700_000_030_000, value: 0), Sample(timestamp: 1_700_000_045_500, value: 1)])
        let second = try XORChunk(encoding: [Sample(timestamp: 1_700_000_000_000, value: 3.5)])
        var builder = ChunkSegmentBuilder()
        #expect(builder.append(encoding: .xor, data: first.bytes) == 8)
        #expect(builder.append(encoding: .xor, data: second.bytes) == 39)
        #expect(builder.bytes.count == 62)
        #expect(Array(builder.bytes[0..<8]) == [0x85, 0xBD, 0x40, 0xDD, 1, 0, 0, 0])
        #expect(Array(builder.bytes[35..<39]) == [0xD7, 0xE7, 0x99, 0x1C])
        #expect(Array(builder.bytes[58..<62]) == [0x08, 0xE4, 0xF6, 0xF9])

        let records = try ChunkSegment.records(in: builder.bytes, segmentIndex: 0, file: "000001")
        #expect(records.map(\.ref) == [8, 39])
        #expect(records.map(\.data) == [first.bytes, second.bytes])
    }

    @Test func errorsNameTheFileAndOffset() throws {
        var builder = ChunkSegmentBuilder(segmentIndex: 3)
        builder.append(encoding: .xor, data: try XORChunk(encoding: [Sample(timestamp: 1, value: 1)]).bytes)
        builder.append(encoding: .xor, data: try XORChunk(encoding: [Sample(timestamp: 2, value: 2)]).bytes)
        let good = builder.bytes
        #expect(try ChunkSegment.records(in: good, segmentIndex: 3, file: "f").map(\.ref) == [3 << 32 | 8, 3 << 32 | 26])

        func failure(_ bytes: [UInt8]) -> FormatError? {
            do { _ = try ChunkSegment.records(in: bytes, segmentIndex: 3, file: "chunks/000004"); return nil }
            catch { return error }
        }
        #expect(failure(Array(good[0..<5]))?.offset == 0)
        var badMagic = good; badMagic[0] = 0
        #expect(failure(badMagic)?.reason.contains("magic") == true)
        var badCRC = good; badCRC[good.count - 1] ^= 1
        #expect(failure(badCRC) == FormatError(file: "chunks/000004", offset: 26,
                                               reason: failure(badCRC)!.reason))
        #expect(failure(badCRC)!.reason.contains("CRC32C"))
        var badEncoding = good; badEncoding[9] = 9
        #expect(failure(badEncoding)?.reason.contains("encoding 9") == true)
        #expect(failure(Array(good.dropLast(2)))?.offset == 26)
        // Every truncation and every bit flip is an error or a valid parse, never a crash.
        for cut in 8..<good.count { _ = failure(Array(good[0..<cut])) }
        for bit in 0..<(good.count * 8) {
            var flipped = good
            flipped[bit / 8] ^= UInt8(1) << UInt8(bit % 8)
            _ = failure(flipped)
        }
    }
}
