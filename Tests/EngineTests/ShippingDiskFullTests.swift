import Engine
import Formats
import Foundation
import StorageTestSupport
import Synchronization
import TestSupport
import Testing

/// Disk full in the bucket while shipping (a real small tmpfs): the upload
/// fails and leaves no partial block, the local block is kept (retention only
/// deletes shipped ones), and once space returns the next pass after the
/// backoff ships a block identical to the local one.
@Suite(.serialized) struct ShippingDiskFullTests {
    final class Clock: Sendable {
        let ms = Mutex<Int64>(t0 + 86_400_000)
        var now: Int64 { ms.withLock { $0 } }
        func advance(_ by: Int64) { ms.withLock { $0 += by } }
    }

    static func samples(_ reader: BlockReader) throws -> [Labels: [Sample]] {
        var out: [Labels: [Sample]] = [:]
        for s in try reader.select(matchers: [try LabelMatcher(.regexMatch, "__name__", ".+")]) { out[s.labels] = try s.samples() }
        return out
    }

    @Test(.enabled(if: SmallDisk.available, "mounting a tmpfs needs root"))
    func shippingToAFullBucketLosesNothingAndResumes() throws {
        let dir = Scratch.directory("ship-full").path
        let db = try TenantDB.open(
            directory: dir + "/t", tenant: "t",
            options: DatabaseOptions(
                wal: WALOptions(fsync: .never), limits: TenantLimits(creationGracePeriod: 0, pastGracePeriod: 0)))
        // Random values: the chunks do not compress into a few bytes.
        var random = SplitMix64(seed: 5)
        for i in 0..<400 {
            var batch = AppendBatch()
            for s in 0..<50 {
                batch.add(series("m", ["s": String(s)]), [Sample(timestamp: t0 + Int64(i) * 15_000, value: Double(random.next() % 1_000_000))])
            }
            _ = try db.append(batch)
        }
        let metas = try db.flush()
        #expect(metas.count == 1)
        let ulid = try #require(metas.first?.ulid)
        let local = try Self.samples(BlockReader(directory: dir + "/t/" + ulid.description))

        let disk = try SmallDisk(bytes: 1 << 20)
        defer { disk.unmount() }
        let bucket = try FilesystemBucket(root: disk.path + "/bucket")
        let clock = Clock()
        let shipper = try Shipper(tenant: "t", tenantDirectory: dir + "/t", bucket: bucket, now: { clock.now })
        disk.fill()

        let failed = try shipper.sync()
        #expect(failed.uploaded.isEmpty)
        #expect(failed.failed.map(\.ulid) == [ulid])
        #expect(shipper.shipped.isEmpty)
        #expect(try bucket.list(prefix: "", recursive: true).filter { !$0.hasPrefix(".") } == [], "no partial block left behind")
        // Expired but not shipped: retention keeps it.
        let deleted = try db.applyRetention(
            Retention(period: .seconds(0), requireShipped: true), shipped: shipper.shipped,
            now: clock.now + 365 * 86_400_000)
        #expect(deleted.isEmpty)
        #expect(FileManager.default.fileExists(atPath: dir + "/t/" + ulid.description + "/meta.json"))

        try disk.free()
        #expect(try shipper.sync().deferred == [ulid], "waits for the backoff")
        clock.advance(3_600_000)
        let shipped = try shipper.sync()
        #expect(shipped.uploaded == [ulid])
        #expect(shipper.shipped == [ulid])
        let copy = try BlockReader(directory: disk.path + "/bucket/t/" + ulid.description)
        #expect(try Self.samples(copy) == local)
        #expect(local.count == 50 && local.values.allSatisfy { $0.count == 400 })
    }
}
