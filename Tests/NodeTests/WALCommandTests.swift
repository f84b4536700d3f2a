import Engine
import Formats
import Foundation
import TestSupport
import Testing

@Suite struct WALCommandTests {
    func makeLog() throws -> String {
        let dir = Scratch.path("walcli").path
        let (wal, _) = try WAL.open(directory: dir, options: WALOptions(compression: .lz4, fsync: .never))
        try wal.log(.series([WALSeries(ref: 1, labels: Labels(["__name__": "up", "job": "a"]))]))
        try wal.log(
            .samples([
                WALSample(ref: 1, timestamp: 1000, value: 1),
                WALSample(ref: 1, timestamp: 2000, value: Double(bitPattern: Sample.staleNaNBits))
            ]))
        try wal.log(.tombstones([WALTombstone(ref: 1, minTime: 0, maxTime: 10)]))
        try wal.close()
        return dir
    }

    func snapshot(_ dir: String) throws -> [String: Data] {
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: dir) {
            files[name] = FileManager.default.contents(atPath: dir + "/" + name)
        }
        return files
    }

    @Test func dumpPrintsEveryEntry() throws {
        let dir = try makeLog()
        let r = try muninn(["wal", "dump", dir])
        #expect(r.status == 0)
        #expect(
            r.stdout == """
                00000000@0 series ref=1 {__name__="up", job="a"}
                00000000@35 sample ref=1 t=1000 v=1.0
                00000000@35 sample ref=1 t=2000 v=StaleNaN
                00000000@73 tombstone ref=1 mint=0 maxt=10

                """)
    }

    @Test func verifyAcceptsAGoodLogAndNamesTheBadOffset() throws {
        let dir = try makeLog()
        let ok = try muninn(["wal", "verify", dir])
        #expect(ok.status == 0)
        #expect(ok.stdout.contains("3 records, 1 series, 2 samples"))

        let before = try snapshot(dir)
        var bytes = [UInt8](FileManager.default.contents(atPath: dir + "/00000000")!)
        bytes[40] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/00000000"))
        let bad = try muninn(["wal", "verify", dir])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("\(dir)/00000000: offset 35:"))
        let dump = try muninn(["wal", "dump", dir])
        #expect(dump.status == 1)
        #expect(dump.stdout.contains("series ref=1"))
        // The directory is exactly as we left it, damaged segment included: the
        // tools never repair.
        var damaged = before
        damaged["00000000"] = Data(bytes)
        #expect(before["00000000"] != damaged["00000000"])
        #expect(try snapshot(dir) == damaged)
    }

    @Test func missingDirectoryIsAClearError() throws {
        let r = try muninn(["wal", "verify", "/nonexistent/wal"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("/nonexistent/wal: no such directory"))
    }
}
