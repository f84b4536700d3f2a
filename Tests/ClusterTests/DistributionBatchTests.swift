import TestSupport
import Testing

@testable import Cluster

@Suite struct DistributionBatchTests {
    func plan(_ ring: RingSnapshot, _ hashes: [UInt32], zoneAware: Bool = true) throws(InsufficientReplicasError) -> WriteBatch {
        try WriteBatch(
            hashes: hashes, ring: ring, replicationFactor: 3, zoneAware: zoneAware, now: distNow, heartbeatTimeoutMillis: distTimeout)
    }

    /// RF 3 over 6 instances in 3 zones: every series goes to exactly one
    /// instance per zone, each instance gets only its own series, once.
    @Test func oneBatchPerIngesterOneReplicaPerZone() throws {
        let seed = TestSeed.make()
        var rng = SplitMix64(seed: seed)
        let ring = RingSnapshot(RingDesc(distRing(zones: ["a", "b", "c"], perZone: 2, rng: &rng)))
        let hashes = (0..<2000).map { _ in UInt32(truncatingIfNeeded: rng.next()) }
        let batch = try plan(ring, hashes)
        #expect(batch.targets.count == 6, "seed \(seed)")
        #expect(Set(batch.targets.map(\.instance.id)).count == 6)
        var zonesOf = Array(repeating: [String](), count: hashes.count)
        for target in batch.targets {
            #expect(target.series == target.series.sorted() && Set(target.series).count == target.series.count)
            for s in target.series { zonesOf[s].append(target.instance.zone) }
        }
        for (s, hash) in hashes.enumerated() {
            #expect(zonesOf[s].sorted() == ["a", "b", "c"], "seed \(seed) series \(s)")
            let set = ring.replicationSet(
                forHash: hash, replicationFactor: 3, zoneAware: true, now: distNow, heartbeatTimeoutMillis: distTimeout,
                operation: .write)
            let targets = batch.targets.filter { $0.series.contains(s) }.map(\.instance.id)
            #expect(Set(targets) == Set(set.instances.map(\.id)), "seed \(seed) series \(s)")
        }
        #expect(batch.minSuccess.allSatisfy { $0 == 2 })
        #expect(batch.maxFailures.allSatisfy { $0 == 1 })
        #expect(batch.replicas.allSatisfy { $0 == 3 })
    }

    @Test func withoutZonesThreeDistinctInstances() throws {
        var rng = SplitMix64(seed: 3)
        let ring = RingSnapshot(RingDesc(distRing(zones: [""], perZone: 6, rng: &rng)))
        let hashes = (0..<500).map { _ in UInt32(truncatingIfNeeded: rng.next()) }
        let batch = try plan(ring, hashes, zoneAware: false)
        var count = Array(repeating: 0, count: hashes.count)
        for target in batch.targets { for s in target.series { count[s] += 1 } }
        #expect(count.allSatisfy { $0 == 3 })
    }

    /// A down replica still counts in the quorum (2 of 3) but gets no batch;
    /// its series then absorb no failure.
    @Test func unhealthyReplicasGetNoBatch() throws {
        var rng = SplitMix64(seed: 5)
        var entries = distRing(zones: ["a", "b", "c"], perZone: 2, rng: &rng)
        entries[0] = distEntry(entries[0].id, zone: "a", tokens: entries[0].tokens, stale: true)
        entries[2] = distEntry(entries[2].id, zone: "b", tokens: entries[2].tokens, state: .leaving)
        let ring = RingSnapshot(RingDesc(entries))
        let hashes = (0..<2000).map { _ in UInt32(truncatingIfNeeded: rng.next()) }
        // Series whose set holds both down instances cannot be written.
        let writable = hashes.filter { hash in
            let set = ring.replicationSet(
                forHash: hash, replicationFactor: 3, zoneAware: true, now: distNow, heartbeatTimeoutMillis: distTimeout,
                operation: .write)
            return set.healthy.count >= 2
        }
        let batch = try plan(ring, writable)
        #expect(!batch.targets.contains { $0.instance.id == entries[0].id || $0.instance.id == entries[2].id })
        #expect(batch.minSuccess.allSatisfy { $0 == 2 })
        var degraded = 0
        for s in 0..<batch.seriesCount where batch.replicas[s] == 2 {
            degraded += 1
            #expect(batch.maxFailures[s] == 0)
        }
        #expect(degraded > 0)
    }

    @Test func failsFastWithoutQuorum() {
        let entries = [
            distEntry("a-0", zone: "a", tokens: [100]), distEntry("b-0", zone: "b", tokens: [200], stale: true),
            distEntry("c-0", zone: "c", tokens: [300], state: .leaving)
        ]
        let ring = RingSnapshot(RingDesc(entries))
        #expect(throws: InsufficientReplicasError.self) { try plan(ring, [50]) }
        do {
            _ = try plan(ring, [50])
        } catch {
            #expect(error.series == 0)
            #expect(
                error.description
                    == "at least 2 live replicas required across different availability zones, could only find 1 - unhealthy instances: b-0,c-0")
        }
        do {
            _ = try plan(ring, [50], zoneAware: false)
        } catch {
            #expect(error.description == "at least 2 live replicas required, could only find 1 - unhealthy instances: b-0,c-0")
        }
        do {
            _ = try plan(RingSnapshot(RingDesc()), [1, 2])
        } catch {
            #expect(error.description == "at least 2 live replicas required across different availability zones, could only find 0")
        }
    }

    @Test func noSeriesNothingToSend() throws {
        let batch = try plan(RingSnapshot(RingDesc()), [])
        #expect(batch.targets.isEmpty)
        #expect(QuorumTracker(batch).decision == .succeeded)
    }
}
