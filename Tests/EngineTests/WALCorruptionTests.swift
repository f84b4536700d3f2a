import Foundation
import StorageTestSupport
import Testing

@testable import Engine
@testable import Formats

/// Writes numbered single-sample records, then damages the segment in one way.
@Suite struct WALCorruptionTests {
    /// Returns the directory and the offset of every record in segment 0.
    func writeLog(records: Int = 400) throws -> (String, [Int]) {
        let dir = try TestPaths.temporaryDirectory("wal-corrupt").path
        let (wal, _) = try WAL.open(directory: dir, options: WALOptions(compression: .none, fsync: .never))
        let written = Self.records(records)
        for i in stride(from: 0, to: written.count, by: 2) { try wal.log(written[i], written[i + 1]) }
        try wal.close()
        var offsets: [Int] = []
        try WALReader.readSegment(path: dir + "/00000000", segment: 0) { _, offset in offsets.append(offset) }
        return (dir, offsets)
    }

    /// What `writeLog` writes, two records per commit.
    static func records(_ count: Int) -> [WALRecord] {
        (0..<count).flatMap { i -> [WALRecord] in
            [
                .samples([WALSample(ref: UInt64(i), timestamp: Int64(i), value: Double(i))]),
                .series([WALSeries(ref: UInt64(i), labels: Labels(["__name__": "x", "pad": String(repeating: "p", count: i % 200)]))])
            ]
        }
    }

    /// Replays with repair and checks the records delivered are exactly the ones
    /// written before `offset`, that the report names it, and that a second open is clean.
    func expectRepair(_ dir: String, offsets: [Int], at offset: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        // Without repair, replay throws at the same offset (what `wal verify` reports).
        #expect(throws: WALCorruption.self, sourceLocation: sourceLocation) {
            try WALReplay.run(directory: dir, repair: false) { _ in }
        }
        let (records, report, wal) = try replayAll(dir, options: WALOptions(fsync: .never))
        try wal.close()
        #expect(report.corruption?.segment == 0, sourceLocation: sourceLocation)
        #expect(report.corruption?.offset == offset, sourceLocation: sourceLocation)
        let before = offsets.filter { $0 < offset }.count
        #expect(records == Array(Self.records(offsets.count / 2).prefix(before)), sourceLocation: sourceLocation)
        let (again, second, reopened) = try replayAll(dir, options: WALOptions(fsync: .never))
        try reopened.close()
        #expect(second.corruption == nil, sourceLocation: sourceLocation)
        #expect(again == records, sourceLocation: sourceLocation)
    }

    @Test func flippedBitStopsAtThatRecord() throws {
        let (dir, offsets) = try writeLog()
        let victim = offsets[offsets.count / 2]
        var bytes = try Files.read(dir + "/00000000")
        bytes[victim + 9] ^= 0x10
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/00000000"))
        try expectRepair(dir, offsets: offsets, at: victim)
    }

    @Test func truncatedTailIsTorn() throws {
        let (dir, offsets) = try writeLog()
        let last = offsets.last!
        try Files.truncate(dir + "/00000000", to: last + 5)
        // The closed segment also had its page padding after the record; cut it too.
        try expectRepair(dir, offsets: offsets, at: last)
    }

    @Test func zeroedPageInTheMiddle() throws {
        let (dir, offsets) = try writeLog(records: 2000)
        var bytes = try Files.read(dir + "/00000000")
        let page = 2
        for i in (page * WAL.pageSize)..<((page + 1) * WAL.pageSize) { bytes[i] = 0 }
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/00000000"))
        // Replay stops at the record that owns the first damaged byte.
        let firstDamaged = offsets.last { $0 < page * WAL.pageSize }!
        let stop = offsets.contains(page * WAL.pageSize) ? page * WAL.pageSize : firstDamaged
        try expectRepair(dir, offsets: offsets, at: stop)
    }

    @Test func garbageAfterTheLastRecord() throws {
        let (dir, offsets) = try writeLog()
        var bytes = try Files.read(dir + "/00000000")
        // Where the writer's data ends (the rest of the last page is padding).
        var end = 0
        try WALReader.readSegment(path: dir + "/00000000", segment: 0) { record, offset in end = offset + record.count }
        let garbageAt = bytes.count - WAL.pageSize / 2
        #expect(garbageAt > end)
        for i in garbageAt..<(garbageAt + 64) { bytes[i] = UInt8(truncatingIfNeeded: i &* 31 | 1) }
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/00000000"))
        let (records, report, wal) = try replayAll(dir, options: WALOptions(fsync: .never))
        try wal.close()
        #expect(records == Self.records(offsets.count / 2))
        #expect(report.corruption != nil)
        #expect(report.corruption!.offset >= offsets.last!)
    }

    @Test func everyTruncationReplaysAPrefixWithoutCrashing() throws {
        let (dir, offsets) = try writeLog(records: 60)
        let written = Self.records(60)
        let original = try Files.read(dir + "/00000000")
        // Where each record ends: all of them fit the first page, so none is
        // fragmented and each is one 7-byte header plus its bytes.
        var ends: [Int] = []
        try WALReader.readSegment(path: dir + "/00000000", segment: 0) { record, offset in ends.append(offset + 7 + record.count) }
        #expect(ends.count == written.count && ends.last! <= WAL.pageSize)
        #expect(zip(ends, offsets.dropFirst()).allSatisfy { $0 <= $1 })
        let cuts = Set(Array(stride(from: 0, to: original.count, by: 97)) + ends + ends.map { $0 - 1 })
        for cut in cuts.sorted() {
            let copy = try TestPaths.temporaryDirectory("wal-cut").path
            try Data(original[0..<cut]).write(to: URL(fileURLWithPath: copy + "/00000000"))
            let (records, _, wal) = try replayAll(copy, options: WALOptions(fsync: .never))
            try wal.close()
            // Exactly the records whole before the cut, in order; nothing after it.
            let whole = ends.filter { $0 <= cut }.count
            #expect(records == Array(written.prefix(whole)), "cut at \(cut): \(records.count) records, \(whole) whole")
        }
    }

    @Test func flippingEveryByteNeverCrashesAndNeverSkips() throws {
        let (dir, offsets) = try writeLog(records: 40)
        let original = try Files.read(dir + "/00000000")
        var end = 0
        try WALReader.readSegment(path: dir + "/00000000", segment: 0) { record, offset in end = offset + record.count + 7 }
        for position in stride(from: 0, to: end, by: 3) {
            var bytes = original
            bytes[position] ^= 0x41
            var seen: [Int] = []
            do {
                try WALReader.readSegment(bytes: bytes, path: "seg", segment: 0) { _, offset in seen.append(offset) }
                Issue.record("damage at \(position) went unnoticed")
            } catch let corruption as WALCorruption {
                // Everything delivered precedes the damage; nothing after it leaks through.
                #expect(seen == offsets.filter { $0 < corruption.offset })
                #expect(corruption.offset <= position)
            }
        }
    }
}
