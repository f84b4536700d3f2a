import Testing

@testable import Formats

@Suite struct ChunkSegmentTests {
    /// docs/format/index.md#reference-example: the chunks/000001 that goes with the reference index.
    @Test func matchesReferenceSegment() throws {
        let first = try XORChunk(encoding: [
            Sample(timestamp: 1_700_000_000_000, value: 1), Sample(timestamp: 1_700_000_015_000, value: 1),
            Sample(timestamp: 1_700_000_030_000, value: 0), Sample(timestamp: 1_700_000_045_500, value: 1)
        ])
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
            do { _ = try ChunkSegment.records(in: bytes, segmentIndex: 3, file: "chunks/000004"); return nil } catch { return error }
        }
        #expect(failure(Array(good[0..<5]))?.offset == 0)
        var badMagic = good; badMagic[0] = 0
        #expect(failure(badMagic)?.reason.contains("magic") == true)
        var badCRC = good; badCRC[good.count - 1] ^= 1
        #expect(
            failure(badCRC)
                == FormatError(
                    file: "chunks/000004", offset: 26,
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

    /// The record decoder the block reader and the inspection tools share: a
    /// record is located from its length prefix alone and checked against the
    /// file size before any of it is read.
    @Test func layoutIsBoundsCheckedAgainstTheFile() throws {
        var builder = ChunkSegmentBuilder()
        let data = try XORChunk(encoding: [Sample(timestamp: 1, value: 1)]).bytes
        builder.append(encoding: .xor, data: data)
        let bytes = builder.bytes
        func layout(_ prefix: [UInt8], offset: Int = 8, fileSize: Int = bytes.count) -> Result<ChunkRecordLayout, FormatError> {
            prefix.withUnsafeBufferPointer { b in
                Result { () throws(FormatError) in try ChunkSegment.layout(prefix: b, offset: offset, fileSize: fileSize, file: "f") }
            }
        }
        let good = try layout(Array(bytes[8...])).get()
        #expect(good == ChunkRecordLayout(offset: 8, prefixSize: 1, length: data.count))
        #expect(good.end == bytes.count)
        let (encoding, stored, computed) = bytes.withUnsafeBufferPointer {
            ChunkSegment.inspect(UnsafeBufferPointer(rebasing: $0[8...]), good)
        }
        #expect(encoding == ChunkEncoding.xor.rawValue)
        #expect(stored == computed)

        func reason(_ r: Result<ChunkRecordLayout, FormatError>) -> String? {
            if case .failure(let error) = r { return error.reason }
            return nil
        }
        #expect(reason(layout(Array(bytes[8...]), offset: 4))?.contains("outside") == true)
        #expect(reason(layout(Array(bytes[8...]), offset: bytes.count))?.contains("outside") == true)
        #expect(reason(layout(Array(bytes[8...]), fileSize: bytes.count - 1))?.contains("runs past the end") == true)
        // Six continuation bytes: longer than Prometheus allows; an empty prefix is no length at all.
        #expect(reason(layout([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]))?.contains("uvarint of at most 5 bytes") == true)
        #expect(reason(layout([]))?.contains("uvarint") == true)
        // The largest five-byte length cannot overflow the end computation.
        #expect(reason(layout([0xFF, 0xFF, 0xFF, 0xFF, 0x7F]))?.contains("runs past the end") == true)

        func header(_ start: [UInt8]) -> FormatError? {
            start.withUnsafeBufferPointer { (b) -> FormatError? in
                do throws(FormatError) { try ChunkSegment.checkHeader(b, file: "f"); return nil } catch { return error }
            }
        }
        #expect(header(Array(bytes[0..<8])) == nil)
        #expect(header(Array(bytes[0..<3]))?.reason.contains("shorter than the 8-byte header") == true)
        var version = Array(bytes[0..<8]); version[4] = 2
        #expect(header(version) == FormatError(file: "f", offset: 4, reason: "unsupported chunk segment version 2"))
    }
}
