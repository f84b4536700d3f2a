import CStorage
import Foundation
import StorageTestSupport
import Testing

@testable import Engine
@testable import Formats

/// The states a SIGKILL can leave a WAL in, built directly: a process killed in
/// a commit's `write(2)` leaves a prefix of it (Linux stops at a 4 KiB page
/// boundary), one killed in a rollover leaves the finished segment partly padded
/// or the new one empty. For each, replay must keep exactly the whole records
/// before the cut, and a writer that opens the log afterwards must append
/// commits that a later replay reads back in full.
@Suite struct WALCrashStateTests {
    static let options = WALOptions(segmentSize: 2 * WAL.pageSize, compression: .lz4, fsync: .never)

    /// Commit `i`: a series record and a samples record for ref `i` (as the crash writer writes).
    static func commit(_ i: Int) -> [WALRecord] {
        let ref = UInt64(i)
        return [
            .series([WALSeries(ref: ref, labels: Labels(["__name__": "c", "pad": String(repeating: "p", count: i % 300)]))]),
            .samples((0..<20).map { WALSample(ref: ref, timestamp: Int64(i) * 1000 + Int64($0), value: Double(i)) })
        ]
    }

    /// Where a record lies in its segment: its first byte and the end of its last fragment.
    struct Placed {
        var segment: Int
        var start: Int
        var end: Int
    }

    /// Writes commits 1...until the log is in its third segment and leaves it
    /// without closing (no final padding, as after a kill). Returns the
    /// directory, the commits written and where each record lies.
    func crashImage() throws -> (String, Int, [Placed]) {
        let dir = try TestPaths.temporaryDirectory("wal-crash-state").path
        var commits = 0
        do {
            let (wal, _) = try WAL.open(directory: dir, options: Self.options)
            while wal.currentSegment < 2 || commits % 7 != 0 {
                commits += 1
                try wal.log(Self.commit(commits).map { $0.encoded() })
            }
        }
        var placed: [Placed] = []
        for segment in try WALSegments.list(dir) {
            let bytes = try Files.read(dir + "/" + WALSegments.name(segment))
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            bytes.withUnsafeBufferPointer { seg in
                var reader = cs_wal_reader()
                cs_wal_reader_init(&reader, seg.baseAddress, seg.count)
                var read = cs_wal_read()
                while buffer.withUnsafeMutableBufferPointer({ cs_wal_reader_next(&reader, $0.baseAddress, $0.count, &read) }) == 1 {
                    placed.append(Placed(segment: segment, start: read.offset, end: reader.off))
                }
            }
        }
        #expect(placed.count == 2 * commits)
        return (dir, commits, placed)
    }

    /// Copies `image`, keeps segments up to `segment`, cuts that one to `length`
    /// bytes, then checks replay and a writer's appends after it. `whole` is how
    /// many records (in write order) lie entirely before the cut.
    func expectRecovery(
        from image: String, commits: Int, segment: Int, length: Int, whole: Int,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let written = (1...commits).flatMap(Self.commit)
        let dir = try TestPaths.temporaryDirectory("wal-crash-cut").path
        try FileManager.default.removeItem(atPath: dir)
        try FileManager.default.copyItem(atPath: image, toPath: dir)
        for later in try WALSegments.list(dir) where later > segment {
            try Files.remove(dir + "/" + WALSegments.name(later))
        }
        try Files.truncate(dir + "/" + WALSegments.name(segment), to: length)
        let tag = "segment \(segment) cut to \(length) bytes"

        let (replayed, _, wal) = try replayAll(dir, options: Self.options)
        // Compared as a Bool so a failure prints the counts, not every record.
        let prefix = replayed == Array(written.prefix(whole))
        #expect(prefix, "\(tag): replayed \(replayed.count) records, \(whole) whole", sourceLocation: sourceLocation)
        // The next writer appends (and is killed again: no close).
        let appended = (commits + 1...commits + 3).flatMap(Self.commit)
        try wal.log(Array(appended[0..<2]).map { $0.encoded() })
        try wal.log(Array(appended[2..<6]).map { $0.encoded() })
        let (again, report, reopened) = try replayAll(dir, options: Self.options)
        try reopened.close()
        #expect(report.corruption == nil, "\(tag): \(String(describing: report.corruption))", sourceLocation: sourceLocation)
        let all = again == replayed + appended
        #expect(all, "\(tag): after appending 6 records, replayed \(again.count)", sourceLocation: sourceLocation)
    }

    /// Cut points inside a commit's records: every byte of each record's first
    /// header, both sides of its end and of a page boundary inside it, and every
    /// 13th byte between (a real tear is at a 4 KiB boundary, which can fall anywhere).
    func cuts(_ commit: ArraySlice<Placed>) -> [Int] {
        var cuts = Set<Int>()
        for record in commit {
            cuts.formUnion(record.start...(record.start + 8))
            cuts.formUnion(stride(from: record.start, through: record.end, by: 13))
            cuts.formUnion([record.end - 1, record.end])
            let page = (record.start / WAL.pageSize + 1) * WAL.pageSize
            if page < record.end { cuts.formUnion((page - 1)...(page + 8)) }
        }
        return cuts.sorted()
    }

    @Test func aTornCommitKeepsItsWholeRecords() throws {
        let (image, commits, placed) = try crashImage()
        // The last commit, and one whose samples record is split across a page boundary.
        let split = try #require(
            placed.indices.first { i in
                i % 2 == 1 && placed[i].start / WAL.pageSize != (placed[i].end - 1) / WAL.pageSize
            })
        for last in [placed.count - 1, split] {
            let segment = placed[last].segment
            #expect(placed[last - 1].segment == segment)
            for length in cuts(placed[(last - 1)...last]) {
                try expectRecovery(
                    from: image, commits: commits, segment: segment, length: length,
                    whole: placed.filter { $0.segment < segment || ($0.segment == segment && $0.end <= length) }.count)
            }
        }
    }

    @Test func aRolloverCutAnywhereKeepsEveryWholeCommit() throws {
        let (image, commits, placed) = try crashImage()
        // The first commit of the last segment: cut from nothing (the segment was
        // just created) to whole.
        let first = try #require(placed.firstIndex { $0.segment == 2 })
        for length in [0] + cuts(placed[first...(first + 1)]) {
            try expectRecovery(
                from: image, commits: commits, segment: 2, length: length,
                whole: placed.filter { $0.segment < 2 || $0.end <= length }.count)
        }
        // The segment before it, finished: its zero padding cut anywhere (the
        // padding write was interrupted) and the next segment not created yet.
        let size = try Files.read(image + "/00000001").count
        let dataEnd = placed[first - 1].end
        #expect(size > dataEnd)
        for length in stride(from: dataEnd, through: size, by: 509) {
            try expectRecovery(from: image, commits: commits, segment: 1, length: length, whole: first)
        }
    }
}
