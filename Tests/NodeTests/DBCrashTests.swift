import Engine
import Formats
import Foundation
import TestSupport
import Testing

extension NodeProcessSuites {
    /// SIGKILL a process appending through a tenant database at random moments;
    /// after each restart every acknowledged batch is queryable and no batch is
    /// half-present.
    @Suite struct DBCrashTests {
        /// `blockRange` small enough that kills land in block writes, WAL checkpoints
        /// and uploads too; each restart must leave only complete blocks, locally
        /// and in the bucket.
        @Test(arguments: [Int64(2 * 3_600_000), 20_000])
        func acknowledgedAppendsSurviveSIGKILL(blockRange: Int64) throws {
            let dir = Scratch.path("dbcrash").path
            let bucket = dir + "-bucket"
            let cutting = blockRange < 3_600_000
            let start = Int64(Date().timeIntervalSince1970 * 1000) - 3_000_000
            let seed = TestSeed.make()
            var rng = SplitMix64(seed: seed)
            var acknowledged: Int64 = 0
            var bucketBlocksSeen = 0
            for round in 0..<10 {
                let tag = "seed \(seed), round \(round)"
                var args = ["db-crash-writer", dir, "--start", String(start), "--block-range", String(blockRange)]
                if cutting { args += ["--bucket", bucket] }
                let process = try startMuninn(args)
                let reader = AckReader(process.stdout!)
                // Up to 80 batches: the writer cuts and ships every 25.
                let lastAck = killMidFlight(process, reader, batches: 1...80, extraMicros: 3_000, rng: &rng, tag: tag)
                acknowledged = max(acknowledged, Int64(lastAck))

                // What the kill left in the bucket, before anything repairs it: a block
                // with meta.json (uploaded last) is complete; one without is a partial
                // upload that readers skip.
                if cutting {
                    bucketBlocksSeen += try expectCompleteBucketBlocks(bucket + "/crash", tag)
                }

                let db = try TenantDB.open(
                    directory: dir, tenant: "crash",
                    options: DatabaseOptions(
                        wal: WALOptions(fsync: .never), chunkRange: blockRange))
                // No half-written block is visible (open removes *.tmp-for-creation).
                let listing = try FileManager.default.contentsOfDirectory(atPath: dir)
                #expect(listing.allSatisfy { !$0.contains(".tmp") }, "\(tag): \(listing)")
                let series = try db.select(matchers: [try LabelMatcher(.equal, "__name__", "crash")])
                var batches: [Int64: Int] = [:]
                for s in series {
                    for sample in try s.samples() {
                        #expect(sample.value == Double((sample.timestamp - start) / 1000), "\(tag)")
                        batches[(sample.timestamp - start) / 1000, default: 0] += 1
                    }
                }
                try db.close()
                for batch in Int64(1)...max(acknowledged, 1) where acknowledged > 0 {
                    #expect(batches[batch] == 20, "\(tag): acknowledged batch \(batch) has \(batches[batch] ?? 0) of 20 samples")
                }
                for (batch, count) in batches { #expect(count == 20, "\(tag): batch \(batch) is half-present") }
            }
            #expect(acknowledged > 10, "seed \(seed): the writer acknowledged only \(acknowledged) batches")
            if cutting {
                #expect(bucketBlocksSeen > 0, "seed \(seed): no kill left a shipped block to check")
                let db = try TenantDB.open(
                    directory: dir, tenant: "crash",
                    options: DatabaseOptions(
                        wal: WALOptions(fsync: .never), chunkRange: blockRange))
                #expect(!db.blockMetas.isEmpty, "the writer cut blocks")
                // A shipper started after the last kill finishes the job; every block in
                // the bucket is then complete and readable.
                let shipper = try Shipper(tenant: "crash", tenantDirectory: dir, bucket: try FilesystemBucket(root: bucket))
                _ = try shipper.sync()
                #expect(shipper.shipped == Set(db.blockMetas.map(\.ulid)))
                for block in try FileManager.default.contentsOfDirectory(atPath: bucket + "/crash") {
                    let reader = try BlockReader(directory: bucket + "/crash/" + block)
                    try reader.verify()
                }
                try db.close()
            }
        }

        /// Every block directory under `tenantBucket` holding meta.json verifies;
        /// returns how many there were.
        func expectCompleteBucketBlocks(_ tenantBucket: String, _ tag: String) throws -> Int {
            guard FileManager.default.fileExists(atPath: tenantBucket) else { return 0 }
            var complete = 0
            for name in try FileManager.default.contentsOfDirectory(atPath: tenantBucket) where ULID(name) != nil {
                let block = tenantBucket + "/" + name
                guard FileManager.default.fileExists(atPath: block + "/meta.json") else { continue }
                do {
                    try BlockReader(directory: block).verify()
                    complete += 1
                } catch {
                    Issue.record("\(tag): \(name) has meta.json in the bucket but does not verify: \(error)")
                }
            }
            return complete
        }
    }
}
