import Engine
import Foundation
import StorageTestSupport
import Testing

/// FilesystemBucket: the ObjectStore contract (round trips, listing semantics,
/// key rules) and that no partial object is ever visible.
@Suite struct ObjectStoreTests {
    static func bucket(_ name: String) throws -> (FilesystemBucket, URL) {
        let dir = try TestPaths.temporaryDirectory(name)
        return (try FilesystemBucket(root: dir.path + "/bucket"), dir)
    }

    /// Every file and directory under `root`, relative, sorted.
    static func tree(_ root: String) -> [String] {
        (FileManager.default.subpaths(atPath: root) ?? []).sorted()
    }

    @Test func roundTrips() throws {
        let (bucket, dir) = try Self.bucket("bucket-roundtrip")
        defer { try? FileManager.default.removeItem(at: dir) }

        try bucket.put("t/01A/meta.json", data: Array("{}".utf8))
        #expect(try bucket.get("t/01A/meta.json") == Array("{}".utf8))
        #expect(try bucket.exists("t/01A/meta.json"))
        #expect(try !bucket.exists("t/01A"), "a prefix is not an object")
        #expect(try !bucket.exists("t/01A/index"))

        let local = dir.appendingPathComponent("local")
        let big = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try Data(big).write(to: local)
        try bucket.put("t/01A/chunks/000001", from: local.path)
        #expect(try bucket.get("t/01A/chunks/000001") == big)
        try bucket.put("t/01A/index", data: [])
        #expect(try bucket.get("t/01A/index") == [])
        try bucket.put("t/01B/index", data: [1])
        try bucket.put("t/markers/01B-deletion-mark.json", data: [2])
        try bucket.put("top", data: [3])

        // Overwrite replaces.
        try bucket.put("t/01A/meta.json", data: [9, 9])
        #expect(try bucket.get("t/01A/meta.json") == [9, 9])

        #expect(try bucket.list(prefix: "") == ["t/", "top"])
        #expect(try bucket.list(prefix: "t/") == ["t/01A/", "t/01B/", "t/markers/"])
        #expect(try bucket.list(prefix: "t/01") == ["t/01A/", "t/01B/"])
        #expect(try bucket.list(prefix: "t/01A/") == ["t/01A/chunks/", "t/01A/index", "t/01A/meta.json"])
        #expect(
            try bucket.list(prefix: "t/01A/", recursive: true)
                == ["t/01A/chunks/000001", "t/01A/index", "t/01A/meta.json"])
        #expect(
            try bucket.list(prefix: "", recursive: true)
                == [
                    "t/01A/chunks/000001", "t/01A/index", "t/01A/meta.json", "t/01B/index",
                    "t/markers/01B-deletion-mark.json", "top"
                ])
        #expect(try bucket.list(prefix: "t/01A/meta") == ["t/01A/meta.json"])
        #expect(try bucket.list(prefix: "nothing/") == [])
        #expect(try bucket.list(prefix: "t/01A/index/", recursive: true) == [])

        // Delete removes the object and the directories it leaves empty, no further.
        try bucket.delete("t/01A/chunks/000001")
        #expect(!FileManager.default.fileExists(atPath: bucket.root + "/t/01A/chunks"))
        #expect(try bucket.list(prefix: "t/01A/") == ["t/01A/index", "t/01A/meta.json"])
        try bucket.delete("t/01B/index")
        #expect(!FileManager.default.fileExists(atPath: bucket.root + "/t/01B"))
        for key in try bucket.list(prefix: "", recursive: true) { try bucket.delete(key) }
        #expect(Self.tree(bucket.root) == [])
        #expect(FileManager.default.fileExists(atPath: bucket.root), "the root itself stays")

        // Deleting what is not there (or only a prefix) is not an error.
        try bucket.delete("t/01A/index")
        try bucket.put("a/b", data: [1])
        try bucket.delete("a")
        #expect(try bucket.exists("a/b"))

        #expect(throws: ObjectStoreError.notFound("t/01A/index")) { try bucket.get("t/01A/index") }
        #expect(throws: ObjectStoreError.notFound("a")) { try bucket.get("a") }
    }

    @Test func rejectsBadKeys() throws {
        let (bucket, dir) = try Self.bucket("bucket-keys")
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = [
            "", "/abs", "a//b", "a/", "../x", "a/../b", "a/./b", ".", "..", "a/..", "a\u{0}b",
            "a/b.tmp-123", "x.tmp-/y"
        ]
        for key in bad {
            for operation in ["put", "get", "exists", "delete"] {
                do throws(ObjectStoreError) {
                    switch operation {
                    case "put": try bucket.put(key, data: [1])
                    case "get": _ = try bucket.get(key)
                    case "exists": _ = try bucket.exists(key)
                    default: try bucket.delete(key)
                    }
                    Issue.record("\(operation) accepted key \(key.debugDescription)")
                } catch {
                    #expect(error.kind == .invalidKey, "\(operation) \(key.debugDescription): \(error)")
                    #expect(error.key == key)
                }
            }
        }
        for prefix in ["/", "../", "a//", "a/../", "..\u{0}", "/x"] {
            #expect(throws: ObjectStoreError.self, "prefix \(prefix.debugDescription)") {
                try bucket.list(prefix: prefix, recursive: true)
            }
        }
        // Names that merely contain dots are fine.
        try bucket.put("a..b/.c/d.", data: [1])
        #expect(try bucket.list(prefix: "", recursive: true) == ["a..b/.c/d."])
        #expect(Self.tree(bucket.root) == ["a..b", "a..b/.c", "a..b/.c/d."], "nothing escaped the root")
        #expect(Self.tree(dir.path) == ["bucket", "bucket/a..b", "bucket/a..b/.c", "bucket/a..b/.c/d."])

        let error = ObjectStoreError(key: "a//b", kind: .invalidKey, reason: "empty path segment")
        #expect(error.description == "invalid object key \"a//b\": empty path segment")
    }

    @Test func ioErrorsNameTheKey() throws {
        let (bucket, dir) = try Self.bucket("bucket-io")
        defer { try? FileManager.default.removeItem(at: dir) }
        do {
            try bucket.put("k", from: dir.path + "/missing")
            Issue.record("put of a missing file succeeded")
        } catch {
            #expect(error.kind == .io)
            #expect(error.key == "k")
            #expect(error.description.contains("missing"), "\(error)")
        }
        try bucket.put("obj", data: [1])
        #expect(throws: ObjectStoreError.self) { try bucket.put("obj/child", data: [2]) }
        #expect(try bucket.get("obj") == [1])
        #expect(try bucket.list(prefix: "", recursive: true) == ["obj"])
    }

    /// Crash leftovers (`*.tmp-*`) are invisible: not listed, not found, and a
    /// directory holding only leftovers is no prefix.
    @Test func leftoverTemporaryFilesAreInvisible() throws {
        let (bucket, dir) = try Self.bucket("bucket-partial")
        defer { try? FileManager.default.removeItem(at: dir) }
        try bucket.put("t/01A/index", data: [1, 2, 3])
        let fm = FileManager.default
        try Data([7]).write(to: URL(fileURLWithPath: bucket.root + "/t/01A/meta.json.tmp-1f2e3d"))
        try fm.createDirectory(atPath: bucket.root + "/t/01B/chunks", withIntermediateDirectories: true)
        try Data([7]).write(to: URL(fileURLWithPath: bucket.root + "/t/01B/chunks/000001.tmp-abc"))

        #expect(try bucket.list(prefix: "t/") == ["t/01A/"])
        #expect(try bucket.list(prefix: "", recursive: true) == ["t/01A/index"])
        #expect(try !bucket.exists("t/01A/meta.json"))
        #expect(throws: ObjectStoreError.notFound("t/01A/meta.json")) { try bucket.get("t/01A/meta.json") }
        #expect(try !bucket.exists("t/01B/chunks/000001"))

        // A finished put leaves no temporary file of its own.
        try bucket.put("t/01C/index", data: [4])
        #expect(try fm.contentsOfDirectory(atPath: bucket.root + "/t/01C") == ["index"])
    }

    /// Readers racing writers of the same key only ever see a complete object.
    @Test func concurrentReadersSeeWholeObjects() throws {
        let (bucket, dir) = try Self.bucket("bucket-race")
        defer { try? FileManager.default.removeItem(at: dir) }
        let versions: [[UInt8]] = (1...4).map { [UInt8](repeating: UInt8($0), count: $0 * 200_000) }
        try bucket.put("k", data: versions[0])
        let race = RaceLog()
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            for round in 0..<20 {
                // The key always exists and every put is valid: any error is a failure.
                do {
                    if i % 2 == 0 {
                        try bucket.put("k", data: versions[(i / 2 + round) % versions.count])
                    } else {
                        let bytes = try bucket.get("k")
                        race.read(whole: versions.contains(bytes))
                    }
                } catch {
                    race.failed("\(i % 2 == 0 ? "put" : "get") in round \(round): \(error)")
                }
            }
        }
        let (reads, torn, errors) = race.snapshot
        #expect(errors.isEmpty, "\(errors.prefix(5))")
        #expect(reads == 80 && torn == 0, "\(torn) of \(reads) reads saw a partial object")
        #expect(try bucket.list(prefix: "", recursive: true) == ["k"])
        #expect(Self.tree(bucket.root) == ["k"])
    }
}

/// What the racing readers and writers saw.
final class RaceLog: @unchecked Sendable {
    private let lock = NSLock()
    private var reads = 0, torn = 0
    private var errors: [String] = []
    func read(whole: Bool) { lock.lock(); reads += 1; if !whole { torn += 1 }; lock.unlock() }
    func failed(_ message: String) { lock.lock(); errors.append(message); lock.unlock() }
    var snapshot: (reads: Int, torn: Int, errors: [String]) { lock.lock(); defer { lock.unlock() }; return (reads, torn, errors) }
}
