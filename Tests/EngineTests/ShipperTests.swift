import Foundation
import Logging
import StorageTestSupport
import Testing

@testable import Engine
@testable import Formats

/// An ObjectStore that logs every call and fails the calls it is told to.
final class RecordingStore: ObjectStore, @unchecked Sendable {
    let inner: FilesystemBucket
    private let lock = NSLock()
    private var log: [String] = []
    private var count = 0
    private var failing: Set<Int> = []

    init(_ inner: FilesystemBucket) { self.inner = inner }

    /// The calls so far, as `"put <key>"`, with `" (failed)"` for injected failures.
    var calls: [String] {
        lock.lock(); defer { lock.unlock() }
        return log
    }

    func resetCalls() {
        lock.lock(); defer { lock.unlock() }
        log = []
    }

    /// Makes the `n`-th call from now (1 = the next one) fail with an I/O error.
    func failCall(_ n: Int) {
        lock.lock(); defer { lock.unlock() }
        failing.insert(count + n)
    }

    private func enter(_ operation: String, _ key: String) throws(ObjectStoreError) {
        lock.lock()
        count += 1
        let fail = failing.remove(count) != nil
        log.append("\(operation) \(key)" + (fail ? " (failed)" : ""))
        lock.unlock()
        if fail { throw ObjectStoreError(key: key, kind: .io, reason: "injected failure") }
    }

    func put(_ key: String, from localPath: String) throws(ObjectStoreError) {
        try enter("put", key)
        try inner.put(key, from: localPath)
    }

    func put(_ key: String, data: [UInt8]) throws(ObjectStoreError) {
        try enter("put", key)
        try inner.put(key, data: data)
    }

    func get(_ key: String) throws(ObjectStoreError) -> [UInt8] {
        try enter("get", key)
        return try inner.get(key)
    }

    func exists(_ key: String) throws(ObjectStoreError) -> Bool {
        try enter("exists", key)
        return try inner.exists(key)
    }

    func list(prefix: String, recursive: Bool) throws(ObjectStoreError) -> [String] {
        try enter("list", prefix)
        return try inner.list(prefix: prefix, recursive: recursive)
    }

    func delete(_ key: String) throws(ObjectStoreError) {
        try enter("delete", key)
        try inner.delete(key)
    }
}

/// A settable wall clock in Unix ms.
final class FakeClock: @unchecked Sendable {
    private let lock = NSLock()
    private var ms: Int64

    init(_ ms: Int64) { self.ms = ms }

    var now: Int64 {
        lock.lock(); defer { lock.unlock() }
        return ms
    }

    func advance(by delta: Int64) {
        lock.lock(); defer { lock.unlock() }
        ms += delta
    }

    var function: @Sendable () -> Int64 { { self.now } }
}

/// A tenant directory, a bucket and helpers to put blocks into the former.
struct ShipperFixture {
    static let tenant = "tenant-1"
    static let start: Int64 = 1_700_000_000_000
    static let clockStart: Int64 = 1_700_000_012_345
    static let quiet = Logger(label: "test.shipper", factory: { _ in SwiftLogNoOpLogHandler() })

    let root: URL
    let tenantDirectory: String
    let bucket: FilesystemBucket
    let store: RecordingStore
    let clock = FakeClock(ShipperFixture.clockStart)

    init(_ name: String) throws {
        root = try TestPaths.temporaryDirectory(name)
        tenantDirectory = root.path + "/tsdb/" + Self.tenant
        try FileManager.default.createDirectory(atPath: tenantDirectory, withIntermediateDirectories: true)
        bucket = try FilesystemBucket(root: root.path + "/bucket")
        store = RecordingStore(bucket)
    }

    func remove() { try? FileManager.default.removeItem(at: root) }

    func shipper(options: ShipperOptions = ShipperOptions()) throws -> Shipper {
        try Shipper(
            tenant: Self.tenant, tenantDirectory: tenantDirectory, bucket: store, options: options,
            logger: Self.quiet, now: clock.function)
    }

    /// Writes a level-1 block of `seriesCount` series × 120 samples from
    /// `minTime`; a small `segmentSize` spreads it over several chunk files.
    @discardableResult
    func block(
        minTime: Int64 = start, seriesCount: Int = 2, segmentSize: Int = BlockWriter.defaultSegmentSize,
        ulid: ULID? = nil
    ) throws -> BlockMeta {
        var series: [(labels: Labels, chunks: [ChunkMeta])] = []
        for s in 0..<seriesCount {
            let samples = (0..<120).map { Sample(timestamp: minTime + Int64($0) * 15_000, value: Double($0 * (s + 1))) }
            series.append((Labels(["__name__": "up", "instance": "host-\(s)"]), try BlockFixtures.chunks(samples)))
        }
        return try #require(
            try BlockWriter.write(
                series: series, minTime: minTime, maxTime: minTime + 7_200_000,
                into: tenantDirectory, ulid: ulid, segmentSize: segmentSize))
    }

    func blockDirectory(_ ulid: ULID) -> String { tenantDirectory + "/" + ulid.description }

    func key(_ ulid: ULID, _ relPath: String) -> String { Self.tenant + "/" + ulid.description + "/" + relPath }

    /// Replaces a block's local meta.json.
    func rewriteMeta(_ meta: BlockMeta) throws {
        try Data(meta.encoded()).write(to: URL(fileURLWithPath: blockDirectory(meta.ulid) + "/meta.json"))
    }

    var stateFile: String { tenantDirectory + "/" + ShipperState.fileName }

    func stateText() throws -> String {
        String(decoding: try Data(contentsOf: URL(fileURLWithPath: stateFile)), as: UTF8.self)
    }
}

@Suite struct ShipperTests {
    typealias Fixture = ShipperFixture

    static func read(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }

    /// Chunks, then index, then meta.json; the uploaded meta.json is the local
    /// text plus Mimir's thanos section; the local one is untouched; the state
    /// file is Mimir's exact text; a second pass touches nothing.
    @Test func uploadsBlockInMimirOrder() throws {
        let f = try Fixture("ship-order")
        defer { f.remove() }
        let meta = try f.block(seriesCount: 3, segmentSize: 300)
        let dir = f.blockDirectory(meta.ulid)
        let segments = try FileManager.default.contentsOfDirectory(atPath: dir + "/chunks").sorted()
        #expect(segments.count >= 2, "want several chunk files, got \(segments)")
        let localMeta = try Self.read(dir + "/meta.json")

        let shipper = try f.shipper()
        let result = try shipper.sync()
        #expect(result.uploaded == [meta.ulid])
        #expect(result.failed.isEmpty && result.skipped.isEmpty && result.foundInBucket.isEmpty)
        #expect(
            f.store.calls == ["exists \(f.key(meta.ulid, "meta.json"))"]
                + segments.map { "put \(f.key(meta.ulid, "chunks/" + $0))" }
                + ["put \(f.key(meta.ulid, "index"))", "put \(f.key(meta.ulid, "meta.json"))"])
        #expect(
            try f.bucket.list(prefix: Fixture.tenant + "/", recursive: true)
                == segments.map { f.key(meta.ulid, "chunks/" + $0) } + [f.key(meta.ulid, "index"), f.key(meta.ulid, "meta.json")],
            "no tombstones")
        for relPath in segments.map({ "chunks/" + $0 }) + ["index"] {
            #expect(try f.bucket.get(f.key(meta.ulid, relPath)) == Self.read(dir + "/" + relPath))
        }

        // The uploaded meta.json: the local text with the thanos section appended,
        // as Mimir's json.Encoder writes it.
        let sizes = try (segments.map { "chunks/" + $0 } + ["index"]).map {
            ($0, try FileManager.default.attributesOfItem(atPath: dir + "/" + $0)[.size] as! Int)
        }
        var thanos = ",\n\t\"thanos\": {\n\t\t\"labels\": {},\n\t\t\"downsample\": {\n\t\t\t\"resolution\": 0\n\t\t},\n"
        thanos += "\t\t\"source\": \"receive\",\n\t\t\"segment_files\": [\n"
        thanos += segments.map { "\t\t\t\"\($0)\"" }.joined(separator: ",\n") + "\n\t\t],\n\t\t\"files\": [\n"
        for (relPath, size) in sizes {
            thanos += "\t\t\t{\n\t\t\t\t\"rel_path\": \"\(relPath)\",\n\t\t\t\t\"size_bytes\": \(size)\n\t\t\t},\n"
        }
        thanos += "\t\t\t{\n\t\t\t\t\"rel_path\": \"meta.json\"\n\t\t\t}\n\t\t]\n\t}\n}\n"
        let localText = String(decoding: localMeta, as: UTF8.self)
        #expect(localText.hasSuffix("\n}"))
        let uploadedText = String(decoding: try f.bucket.get(f.key(meta.ulid, "meta.json")), as: UTF8.self)
        #expect(uploadedText == localText.dropLast(2) + thanos)
        let uploaded = try BlockMeta.decode(Array(uploadedText.utf8), file: "uploaded")
        #expect(uploaded.thanos?.source == "receive")
        #expect(uploaded.thanos?.segmentFiles == segments)
        #expect(uploaded.thanos?.files.last == BlockMeta.Thanos.File(relPath: "meta.json"))
        var withoutThanos = uploaded
        withoutThanos.thanos = nil
        #expect(withoutThanos == meta)
        #expect(try Self.read(dir + "/meta.json") == localMeta, "local meta.json unchanged")

        #expect(try f.stateText() == "{\n\t\"version\": 1,\n\t\"shipped\": {\n\t\t\"\(meta.ulid)\": 1700000012.345\n\t}\n}\n")
        #expect(shipper.shipped == [meta.ulid])
        #expect(shipper.shippedAt == [meta.ulid: Fixture.clockStart])
        let bytes = UInt64(sizes.reduce(0) { $0 + $1.1 } + uploadedText.utf8.count)
        #expect(
            shipper.stats
                == {
                    var s = ShipperStats()
                    s.syncs = 1; s.uploads = 1; s.uploadedBytes = bytes; s.lastSuccessfulUpload = Fixture.clockStart
                    return s
                }())

        f.store.resetCalls()
        f.clock.advance(by: 60_000)
        let again = try shipper.sync()
        #expect(again == ShipResult())
        #expect(f.store.calls == [], "a shipped block is never looked at again")
        #expect(try f.stateText().contains("1700000012.345"), "state file not rewritten")
        #expect(shipper.stats.uploads == 1)
        #expect(shipper.stats.syncs == 2)
    }

    @Test func oldestMinTimeFirst() throws {
        let f = try Fixture("ship-oldest")
        defer { f.remove() }
        // The newer ULID holds the older data.
        let newerData = try f.block(minTime: Fixture.start + 7_200_000, ulid: ULID(high: 1 << 16, low: 1))
        let olderData = try f.block(minTime: Fixture.start, ulid: ULID(high: 2 << 16, low: 1))
        let result = try f.shipper().sync()
        #expect(result.uploaded == [olderData.ulid, newerData.ulid])
        #expect(
            f.store.calls.filter { $0.hasPrefix("exists") }
                == ["exists \(f.key(olderData.ulid, "meta.json"))", "exists \(f.key(newerData.ulid, "meta.json"))"])
    }

    /// A new Shipper on the same directory reads the state file and uploads nothing.
    @Test func restartReadsStateFile() throws {
        let f = try Fixture("ship-restart")
        defer { f.remove() }
        let meta = try f.block()
        _ = try f.shipper().sync()
        let text = try f.stateText()

        f.store.resetCalls()
        let restarted = try f.shipper()
        #expect(restarted.stateFileError == nil)
        #expect(restarted.shipped == [meta.ulid])
        #expect(restarted.shippedAt == [meta.ulid: Fixture.clockStart])
        #expect(try restarted.sync() == ShipResult())
        #expect(f.store.calls == [])
        #expect(try f.stateText() == text)
    }

    /// A failed index upload deletes the chunks already written, counts a
    /// failure and waits 1 s, then 2 s after a second failure, before the
    /// retry that succeeds.
    @Test func failedUploadIsCleanedUpAndRetriedWithBackoff() throws {
        let f = try Fixture("ship-retry")
        defer { f.remove() }
        let meta = try f.block()
        let shipper = try f.shipper()
        let chunks = f.key(meta.ulid, "chunks/000001"), index = f.key(meta.ulid, "index")
        let metaKey = f.key(meta.ulid, "meta.json")

        f.store.failCall(3)  // exists, put chunks, put index
        let first = try shipper.sync()
        #expect(first.uploaded == [])
        #expect(first.failed.map(\.ulid) == [meta.ulid])
        #expect(first.failed.first?.reason.contains("injected failure") == true)
        #expect(f.store.calls == ["exists \(metaKey)", "put \(chunks)", "put \(index) (failed)", "delete \(chunks)"])
        #expect(try f.bucket.list(prefix: "", recursive: true) == [], "partial block removed")
        #expect(shipper.stats.uploadFailures == 1)
        #expect(shipper.stats.uploads == 0)
        #expect(shipper.shipped.isEmpty)
        #expect(shipper.nextRetry == Fixture.clockStart + 1000)
        #expect(shipper.delayUntilNextSync(interval: .seconds(60)) == .seconds(1))
        #expect(try f.stateText() == "{\n\t\"version\": 1,\n\t\"shipped\": {}\n}\n")

        f.store.resetCalls()
        f.clock.advance(by: 999)
        #expect(try shipper.sync().deferred == [meta.ulid])
        #expect(f.store.calls == [], "no retry before the backoff")

        f.clock.advance(by: 1)
        f.store.failCall(3)
        #expect(try shipper.sync().failed.map(\.ulid) == [meta.ulid])
        #expect(shipper.stats.uploadFailures == 2)
        #expect(shipper.nextRetry == f.clock.now + 2000, "backoff doubled")

        f.store.resetCalls()
        f.clock.advance(by: 2000)
        let retried = try shipper.sync()
        #expect(retried.uploaded == [meta.ulid])
        #expect(f.store.calls == ["exists \(metaKey)", "put \(chunks)", "put \(index)", "put \(metaKey)"])
        #expect(shipper.nextRetry == nil)
        #expect(shipper.stats.uploads == 1)
        #expect(shipper.stats.uploadFailures == 2)
        #expect(shipper.shipped == [meta.ulid])
        #expect(try f.bucket.list(prefix: "", recursive: true) == [chunks, index, metaKey])
    }

    /// meta.json failing leaves chunks and index (Mimir does not clean up then);
    /// the retry uploads everything again.
    @Test func failedMetaUploadIsRetried() throws {
        let f = try Fixture("ship-meta-fail")
        defer { f.remove() }
        let meta = try f.block()
        let shipper = try f.shipper()
        f.store.failCall(4)
        #expect(try shipper.sync().failed.map(\.ulid) == [meta.ulid])
        #expect(try !f.bucket.exists(f.key(meta.ulid, "meta.json")))
        f.clock.advance(by: 1000)
        #expect(try shipper.sync().uploaded == [meta.ulid])
        #expect(try f.bucket.exists(f.key(meta.ulid, "meta.json")))
    }

    @Test func blockAlreadyInBucketIsRecordedWithoutUpload() throws {
        let f = try Fixture("ship-exists")
        defer { f.remove() }
        let meta = try f.block()
        try f.bucket.put(f.key(meta.ulid, "meta.json"), data: Array("{}".utf8))
        let shipper = try f.shipper()
        let result = try shipper.sync()
        #expect(result.foundInBucket == [meta.ulid])
        #expect(result.uploaded == [])
        #expect(f.store.calls == ["exists \(f.key(meta.ulid, "meta.json"))"])
        #expect(shipper.shipped == [meta.ulid])
        #expect(shipper.stats.uploads == 0)
        #expect(try ShipperState.read(directory: f.tenantDirectory)?.shipped == [meta.ulid: Fixture.clockStart])
    }

    @Test func skipsCompactedAndEmptyBlocksAndIgnoresOtherEntries() throws {
        let f = try Fixture("ship-skip")
        defer { f.remove() }
        var compacted = try f.block(minTime: Fixture.start)
        compacted.compaction.level = 2
        try f.rewriteMeta(compacted)
        var empty = try f.block(minTime: Fixture.start + 7_200_000)
        empty.stats = BlockMeta.Stats()
        try f.rewriteMeta(empty)
        let fm = FileManager.default
        for name in [
            "wal", "wbl", "chunks_head", ULID.make().description + ".tmp-for-creation",
            ULID.make().description + ".tmp-for-deletion"
        ] {
            try fm.createDirectory(atPath: f.tenantDirectory + "/" + name, withIntermediateDirectories: true)
        }
        try Data().write(to: URL(fileURLWithPath: f.tenantDirectory + "/" + ULID.make().description), options: [])

        let result = try f.shipper().sync()
        #expect(result.skipped == [compacted.ulid, empty.ulid])
        #expect(result.uploaded == [] && result.failed == [] && result.unreadable == [])
        #expect(f.store.calls == [])
    }

    /// A corrupt state file is reported (naming the file), not fatal: the shipper
    /// checks the bucket again and rewrites the file.
    @Test func corruptStateFileFallsBackToBucket() throws {
        let f = try Fixture("ship-corrupt")
        defer { f.remove() }
        let inBucket = try f.block(minTime: Fixture.start)
        let notInBucket = try f.block(minTime: Fixture.start + 7_200_000)
        try f.bucket.put(f.key(inBucket.ulid, "meta.json"), data: Array("{}".utf8))
        try Data("{\"version\": 1, \"shipped\": {\"01".utf8).write(to: URL(fileURLWithPath: f.stateFile))

        let shipper = try f.shipper()
        let error = try #require(shipper.stateFileError)
        #expect(error.file == f.stateFile)
        #expect(error.description.hasPrefix(f.stateFile + ": invalid JSON"), "\(error)")
        #expect(shipper.shipped.isEmpty)

        let result = try shipper.sync()
        #expect(result.foundInBucket == [inBucket.ulid])
        #expect(result.uploaded == [notInBucket.ulid])
        let saved = try #require(try ShipperState.read(directory: f.tenantDirectory))
        #expect(saved.shipped.keys.sorted() == [inBucket.ulid, notInBucket.ulid].sorted())
    }

    /// Blocks removed locally (by retention) leave the state file, as in Mimir.
    @Test func stateForgetsRemovedBlocks() throws {
        let f = try Fixture("ship-forget")
        defer { f.remove() }
        let first = try f.block(minTime: Fixture.start)
        let second = try f.block(minTime: Fixture.start + 7_200_000)
        let shipper = try f.shipper()
        _ = try shipper.sync()
        try FileManager.default.removeItem(atPath: f.blockDirectory(first.ulid))
        _ = try shipper.sync()
        #expect(shipper.shipped == [second.ulid])
        #expect(try ShipperState.read(directory: f.tenantDirectory)?.shipped.keys.sorted() == [second.ulid])
    }

    @Test func stateFileFormat() throws {
        #expect(ShipperState.seconds(1_700_000_012_345) == "1700000012.345")
        #expect(ShipperState.seconds(1_700_000_012_000) == "1700000012")
        #expect(ShipperState.seconds(1_700_000_012_300) == "1700000012.3")
        #expect(ShipperState.seconds(1_700_000_012_005) == "1700000012.005")
        #expect(ShipperState.seconds(1_700_000_012_050) == "1700000012.05")
        #expect(ShipperState.seconds(0) == "0")

        let a = try #require(ULID("01HB0000000000000000000000")), b = try #require(ULID("01HA0000000000000000000000"))
        let state = ShipperState(shipped: [a: 1_700_000_012_345, b: 1_700_000_000_000])
        let text =
            "{\n\t\"version\": 1,\n\t\"shipped\": {\n"
            + "\t\t\"01HA0000000000000000000000\": 1700000000,\n"
            + "\t\t\"01HB0000000000000000000000\": 1700000012.345\n\t}\n}\n"
        #expect(String(decoding: state.encoded(), as: UTF8.self) == text)
        #expect(try ShipperState.decode(state.encoded(), file: "f") == state)
        #expect(try ShipperState.decode(Array("{\"version\":1}".utf8), file: "f") == ShipperState())

        for (bad, reason) in [
            ("{\"version\": 2, \"shipped\": {}}", "unsupported version 2"),
            ("{\"version\": 1, \"shipped\": {\"nope\": 1}}", "invalid ULID \"nope\""),
            ("{\"version\": 1, \"shipped\": {\"01HA0000000000000000000000\": true}}", "invalid JSON"),
            ("[]", "invalid JSON"), ("", "invalid JSON")
        ] {
            let error = #expect(throws: ShipperStateError.self) {
                try ShipperState.decode(Array(bad.utf8), file: "dir/mimir.shipper.json")
            }
            #expect(error?.file == "dir/mimir.shipper.json")
            #expect(error?.reason.hasPrefix(reason) == true, "\(bad): \(String(describing: error))")
        }
        #expect(try ShipperState.read(directory: "/nonexistent-\(UUID())") == nil)
    }

    @Test func backoffDoublesUpToTheMaximum() {
        let options = ShipperOptions()
        #expect(
            (1...9).map { options.backoff(afterFailures: $0) }
                == [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000])
        #expect(options.backoff(afterFailures: 1000) == 60_000)
        #expect(ShipperOptions(initialBackoff: .milliseconds(250), maxBackoff: .seconds(1)).backoff(afterFailures: 2) == 500)
    }

    /// The run loop waits the backoff after a failure, the interval otherwise,
    /// and stops when its sleep throws (cancellation).
    @Test func runLoopHonoursBackoff() async throws {
        let f = try Fixture("ship-run")
        defer { f.remove() }
        let meta = try f.block()
        let shipper = try f.shipper()
        f.store.failCall(2)
        let sleeps = SleepLog()
        let clock = f.clock
        await shipper.run(interval: .seconds(60)) { duration in
            let count = sleeps.append(duration)
            clock.advance(by: ShipperOptions.milliseconds(duration))
            if count == 2 { throw CancellationError() }
        }
        #expect(sleeps.durations == [.seconds(1), .seconds(60)])
        #expect(shipper.shipped == [meta.ulid])
        #expect(shipper.stats.uploadFailures == 1)
        #expect(shipper.stats.syncs == 2)
    }

    /// promtool reads the tenant prefix of the bucket like a data directory.
    @Test func promtoolListsUploadedBlock() throws {
        let f = try Fixture("ship-promtool")
        defer { f.remove() }
        let meta = try f.block(seriesCount: 3, segmentSize: 300)
        _ = try f.shipper().sync()
        let tenantPrefix = f.bucket.root + "/" + Fixture.tenant
        let list = String(decoding: try run(BlockFixtures.promtool, ["tsdb", "list", tenantPrefix]), as: UTF8.self)
        #expect(list.contains(meta.ulid.description), "promtool tsdb list: \(list)")
        #expect(list.contains("\(meta.stats.numSamples)"))
        let analyze = String(
            decoding: try run(
                BlockFixtures.promtool,
                [
                    "tsdb", "analyze", "--extended", tenantPrefix,
                    meta.ulid.description
                ]), as: UTF8.self)
        #expect(analyze.contains("Block ID: \(meta.ulid.description)"), "promtool tsdb analyze: \(analyze)")
        // And our reader opens the uploaded block.
        let reader = try BlockReader(directory: tenantPrefix + "/" + meta.ulid.description)
        try reader.verify()
        #expect(reader.meta.stats == meta.stats)
    }
}

final class SleepLog: @unchecked Sendable {
    private let lock = NSLock()
    private var log: [Duration] = []

    /// Records one sleep; returns how many there were.
    func append(_ d: Duration) -> Int {
        lock.lock(); defer { lock.unlock() }
        log.append(d)
        return log.count
    }

    var durations: [Duration] {
        lock.lock(); defer { lock.unlock() }
        return log
    }
}

extension Retention {
    /// Deletes the expired blocks of `tenantDirectory`, oldest first, and returns
    /// their metadata. Blocks whose meta.json cannot be read are kept (and logged).
    ///
    /// - Parameters:
    ///   - now: Unix ms the block ages are measured against.
    ///   - shipped: the blocks recorded as shipped; ignored when `requireShipped` is off.
    /// - Throws: the I/O error when the directory cannot be listed or a deletion
    ///   fails; blocks deleted before the failure stay deleted.
    func apply(
        tenantDirectory: String, now: Int64, shipped: Set<ULID>,
        logger: Logger = Logger(label: "muninn.retention")
    ) throws -> [BlockMeta] {
        let doomed = try expired(tenantDirectory: tenantDirectory, now: now, shipped: shipped, logger: logger)
        try Self.delete(doomed, tenantDirectory: tenantDirectory, logger: logger)
        return doomed
    }
}

/// Retention: age and shipped state decide; deletion leaves no half blocks.
@Suite struct ShipperRetentionTests {
    typealias Fixture = ShipperFixture

    static func names(_ dir: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
    }

    @Test func deletesOnlyOldShippedBlocks() throws {
        let f = try Fixture("retention")
        defer { f.remove() }
        let oldShipped = try f.block(minTime: Fixture.start)
        let oldUnshipped = try f.block(minTime: Fixture.start + 2 * hour)
        let recentShipped = try f.block(minTime: Fixture.start + 10 * hour)
        // recentShipped ends at start + 12 h; "now" 13 h after the end of the
        // second block puts both older ones past the 13 h retention.
        let now = oldUnshipped.maxTime + 13 * hour
        #expect(now - recentShipped.maxTime < 13 * hour)
        let shipped: Set = [oldShipped.ulid, recentShipped.ulid]

        let deleted = try Retention().apply(tenantDirectory: f.tenantDirectory, now: now, shipped: shipped, logger: Fixture.quiet)
        #expect(deleted.map(\.ulid) == [oldShipped.ulid])
        #expect(try Self.names(f.tenantDirectory) == [oldUnshipped.ulid.description, recentShipped.ulid.description].sorted())

        // Without shipping, age alone decides.
        let unshipped = try Retention(requireShipped: false).apply(
            tenantDirectory: f.tenantDirectory, now: now,
            shipped: [], logger: Fixture.quiet)
        #expect(unshipped.map(\.ulid) == [oldUnshipped.ulid])
        #expect(try Self.names(f.tenantDirectory) == [recentShipped.ulid.description])

        // Exactly `period` after maxTime is old enough; a millisecond less is not.
        let hourly = Retention(period: .seconds(3600))
        let justBefore = try hourly.apply(
            tenantDirectory: f.tenantDirectory, now: recentShipped.maxTime + hour - 1,
            shipped: shipped, logger: Fixture.quiet)
        #expect(justBefore.isEmpty)
        let atBoundary = try hourly.apply(
            tenantDirectory: f.tenantDirectory, now: recentShipped.maxTime + hour,
            shipped: shipped, logger: Fixture.quiet)
        #expect(atBoundary.map(\.ulid) == [recentShipped.ulid])
        #expect(try Self.names(f.tenantDirectory) == [])
    }

    @Test func worksWithTheShippersRecord() throws {
        let f = try Fixture("retention-shipper")
        defer { f.remove() }
        let block = try f.block(minTime: Fixture.start)
        let shipper = try f.shipper()
        let now = block.maxTime + 14 * hour
        let retention = Retention()
        #expect(
            try retention.apply(
                tenantDirectory: f.tenantDirectory, now: now, shipped: shipper.shipped,
                logger: Fixture.quiet
            ).isEmpty)
        _ = try shipper.sync()
        #expect(
            try retention.apply(
                tenantDirectory: f.tenantDirectory, now: now, shipped: shipper.shipped,
                logger: Fixture.quiet
            ).map(\.ulid) == [block.ulid])
        _ = try shipper.sync()
        #expect(shipper.shipped.isEmpty)
        #expect(try f.bucket.exists(f.key(block.ulid, "meta.json")), "the bucket keeps it")
    }

    @Test func sweepsInterruptedDeletions() throws {
        let f = try Fixture("retention-sweep")
        defer { f.remove() }
        let fm = FileManager.default
        let kept = try f.block()
        let leftover = ULID.make().description + ".tmp-for-deletion"
        let legacy = ULID.make().description + ".tmp"
        let creating = ULID.make().description + ".tmp-for-creation"
        for name in [leftover, legacy, creating, "other.tmp-for-deletion", "wal"] {
            try fm.createDirectory(atPath: f.tenantDirectory + "/" + name + "/chunks", withIntermediateDirectories: true)
            try Data([1]).write(to: URL(fileURLWithPath: f.tenantDirectory + "/" + name + "/index"))
        }
        try Data([1]).write(to: URL(fileURLWithPath: f.tenantDirectory + "/mimir.shipper.json.tmp"))
        let removed = try Retention.sweepLeftovers(tenantDirectory: f.tenantDirectory, logger: Fixture.quiet)
        #expect(removed == [leftover, legacy, creating, "other.tmp-for-deletion", "mimir.shipper.json.tmp"].sorted())
        #expect(try Self.names(f.tenantDirectory) == [kept.ulid.description, "wal"].sorted())
        #expect(try Retention.sweepLeftovers(tenantDirectory: f.tenantDirectory, logger: Fixture.quiet) == [])
    }

    /// A deletion that already renamed the block (crash before the removal) is
    /// finished by the sweep; a block deleted again over a leftover works too.
    @Test func deletionGoesThroughTheTemporaryName() throws {
        let f = try Fixture("retention-rename")
        defer { f.remove() }
        let block = try f.block()
        let dir = f.blockDirectory(block.ulid)
        try FileManager.default.createDirectory(atPath: dir + Retention.deletionSuffix, withIntermediateDirectories: true)
        try Retention.deleteBlock(dir)
        #expect(try Self.names(f.tenantDirectory) == [])

        let again = try f.block()
        try FileManager.default.moveItem(
            atPath: f.blockDirectory(again.ulid),
            toPath: f.blockDirectory(again.ulid) + Retention.deletionSuffix)
        #expect(
            try Retention().apply(
                tenantDirectory: f.tenantDirectory, now: .max, shipped: [again.ulid],
                logger: Fixture.quiet
            ).isEmpty, "a renamed block is no block")
        #expect(
            try Retention.sweepLeftovers(tenantDirectory: f.tenantDirectory, logger: Fixture.quiet)
                == [again.ulid.description + Retention.deletionSuffix])
        #expect(try Self.names(f.tenantDirectory) == [])
    }
}
