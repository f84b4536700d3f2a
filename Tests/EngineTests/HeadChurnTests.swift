import CStorage
import Foundation
import StorageTestSupport
import Testing

@testable import Engine
@testable import Formats

/// Series churn: label strings of dropped series are reclaimed, the 32-bit
/// indexes refuse series instead of trapping, and hashes are seeded.
@Suite struct HeadChurnTests: HeadSuite {
    /// Rounds of churn: each round creates series with fresh label values and
    /// the truncation drops them, while long-lived series (sharing label names
    /// and some values with them) keep receiving samples by labels and by ref.
    /// The symbol table and label arena stay the size of one round, and every
    /// index keeps answering correctly across the rebuilds.
    @Test func labelStringsOfDroppedSeriesAreReclaimed() throws {
        let head = Head(chunkRange: Self.range, hashSeed: 42)
        let keepers = (0..<50).map { series("keep", ["job": "j\($0 % 5)", "id": "k\($0)"]) }
        var keeperRefs: [UInt64] = []
        var expected: [Labels: [Sample]] = [:]
        let churnPerRound = 500
        var peak = HeadIndexStats(symbols: 0, symbolBytes: 0, deadSymbols: 0, labelRefs: 0, liveLabelRefs: 0)
        var afterTruncation: [HeadIndexStats] = []
        for round in 0..<30 {
            let base = t0 + Int64(round) * Self.range
            var batch = AppendBatch()
            for (i, labels) in keepers.enumerated() {
                let sample = Sample(timestamp: base, value: Double(round))
                // Refs on odd rounds: they survive rebuilds unchanged.
                if round % 2 == 1 { batch.add(ref: keeperRefs[i], CollectionOfOne(sample)) } else { batch.add(labels, CollectionOfOne(sample)) }
                expected[labels, default: []].append(sample)
            }
            let churners = (0..<churnPerRound).map {
                series("churn", ["job": "j\($0 % 5)", "pod": "pod-\(round)-\($0)-" + String(repeating: "x", count: 40)])
            }
            for labels in churners { batch.add(labels, timestamp: base, value: 1) }
            let out = try commit(head, batch)
            #expect(out.accepted == keepers.count + churnPerRound)
            #expect(out.seriesCreated == (round == 0 ? keepers.count : 0) + churnPerRound, "keepers are found, not recreated")
            if round == 0 { keeperRefs = Array(out.refs.prefix(keepers.count)) }
            #expect(Array(out.refs.prefix(keepers.count)) == keeperRefs)
            // A second sample keeps the keepers alive past the truncation point.
            var late = AppendBatch()
            for (i, labels) in keepers.enumerated() {
                late.add(ref: keeperRefs[i], timestamp: base + Self.range / 2, value: -1)
                expected[labels, default: []].append(Sample(timestamp: base + Self.range / 2, value: -1))
            }
            #expect(try commit(head, late).accepted == keepers.count)

            let stats = head.indexStats
            peak.symbols = max(peak.symbols, stats.symbols)
            peak.symbolBytes = max(peak.symbolBytes, stats.symbolBytes)
            peak.labelRefs = max(peak.labelRefs, stats.labelRefs)
            // The churners are all there before the truncation.
            #expect(try values(head, [LabelMatcher(.equal, "__name__", "churn")]).count == churnPerRound)
            #expect(head.labelValues("pod").count == churnPerRound)

            let taken = head.take(before: base + Self.range / 4)
            // Keepers give up only their previous round's chunk.
            #expect(taken.count == churnPerRound + (round == 0 ? 0 : keepers.count))
            #expect(head.seriesCount == keepers.count)
            afterTruncation.append(head.indexStats)

            // Every index answers as before the rebuild.
            #expect(head.labelValues("pod").isEmpty)
            #expect(head.labelValues("job") == ["j0", "j1", "j2", "j3", "j4"])
            #expect(head.labelNames() == ["__name__", "id", "job"])
            #expect(try values(head, [LabelMatcher(.equal, "__name__", "churn")]).isEmpty)
            let j3 = try values(head, [LabelMatcher(.equal, "job", "j3"), LabelMatcher(.equal, "__name__", "keep")])
            #expect(Set(j3.keys) == Set(keepers.filter { $0["job"] == "j3" }))
            for labels in keepers { #expect(head.lookup(labels).map { head.refs[$0] } == keeperRefs[keepers.firstIndex(of: labels)!]) }
        }
        // One round of churn creates about 1000 strings of ~50 bytes; without
        // reclaiming, 30 rounds would hold 30 times that.
        let oneRound = 2 * churnPerRound + keepers.count + 16
        #expect(peak.symbols <= oneRound, "\(peak)")
        #expect(peak.symbolBytes <= oneRound * 64, "\(peak)")
        #expect(peak.labelRefs <= 2 * (oneRound * 3 + keepers.count * 3), "\(peak)")
        for stats in afterTruncation {
            #expect(stats.deadSymbols * 2 <= stats.symbols)
            #expect(stats.symbols <= keepers.count + 16, "only the keepers' strings are left: \(stats)")
            #expect(stats.labelRefs == stats.liveLabelRefs)
        }
        // The keepers' data is intact, and a dropped label set comes back as a new series.
        let kept = try values(head, [LabelMatcher(.equal, "__name__", "keep")])
        for (labels, samples) in kept { #expect(!samples.isEmpty && samples == expected[labels]!.suffix(samples.count)) }
        #expect(kept.count == keepers.count)
        let again = series("churn", ["job": "j0", "pod": "pod-0-0-" + String(repeating: "x", count: 40)])
        var batch = AppendBatch()
        batch.add(again, timestamp: t0 + 31 * Self.range, value: 7)
        let out = try commit(head, batch)
        #expect(out.seriesCreated == 1 && out.refs[0] > keeperRefs.max()!)
        #expect(try values(head, [LabelMatcher(.equal, "pod", again["pod"]!)]) == [again: [Sample(timestamp: t0 + 31 * Self.range, value: 7)]])
    }

    /// Dropped series whose strings live on in other series: only the label
    /// arena is compacted, and the survivors are found, appended to and
    /// queried as before.
    @Test func labelSlotsOfDroppedSeriesAreCompacted() throws {
        let head = Head(chunkRange: Self.range, hashSeed: 3)
        let gone = (0..<100).map { series("m", ["i": "\($0)", "pod": "a"]) }
        let kept = (0..<60).map { series("m", ["i": "\($0)", "pod": "b"]) }
        var batch = AppendBatch()
        for labels in gone + kept { batch.add(labels, timestamp: t0, value: 1) }
        let refs = try commit(head, batch).refs
        batch = AppendBatch()
        for labels in kept { batch.add(labels, timestamp: t0 + Self.range / 2, value: 2) }
        #expect(try commit(head, batch).accepted == kept.count)
        let symbols = head.indexStats.symbols

        _ = head.take(before: t0 + Self.range / 4)
        let stats = head.indexStats
        // Strings "a" and "60"…"99" are dead, less than half.
        #expect(stats.symbols == symbols && stats.deadSymbols == 41, "\(stats)")
        #expect(stats.labelRefs == stats.liveLabelRefs && stats.liveLabelRefs == kept.count * 6)
        for (i, labels) in kept.enumerated() { #expect(head.lookup(labels).map { head.refs[$0] } == refs[gone.count + i]) }
        for labels in gone { #expect(head.lookup(labels) == nil) }
        #expect(head.labelValues("pod") == ["b"])
        batch = AppendBatch()
        for labels in kept { batch.add(labels, timestamp: t0 + Self.range, value: 3) }
        batch.add(gone[7], timestamp: t0 + Self.range, value: 4)
        let out = try commit(head, batch)
        #expect(out.seriesCreated == 1 && out.accepted == kept.count + 1)
        let found = values(head, [try LabelMatcher(.equal, "i", "7")])
        // The survivor's open chunk still holds its first sample.
        #expect(
            found == [
                kept[7]: [
                    Sample(timestamp: t0, value: 1), Sample(timestamp: t0 + Self.range / 2, value: 2),
                    Sample(timestamp: t0 + Self.range, value: 3)
                ],
                gone[7]: [Sample(timestamp: t0 + Self.range, value: 4)]
            ])
    }

    /// Through the database: blocks are cut while series churn, and a restart
    /// (checkpoint plus WAL replay) restores the same view.
    @Test func churnThroughCompactionAndRestart() throws {
        let db = try openDB(limits: Self.limits)
        let keeper = series("keep", ["id": "1"])
        var maxSymbols = 0
        for h in 0..<24 {
            let t = base + Int64(h) * hour
            var batch = AppendBatch()
            batch.add(keeper, timestamp: t, value: Double(h))
            for i in 0..<200 { batch.add(series("churn", ["pod": "p\(h)-\(i)"]), timestamp: t, value: 1) }
            #expect(try db.append(batch).accepted == 201)
            _ = try db.compact()
            maxSymbols = max(maxSymbols, db.head.indexStats.symbols)
        }
        // The head holds at most four hours of churners, and up to as many dead
        // strings again before a rebuild; 24 hours of them would be 4800.
        #expect(maxSymbols <= 2 * 4 * 200 + 16)
        let before = try stored(db)
        #expect(before[keeper]?.count == 24)
        #expect(before.count == 1 + 24 * 200)
        try db.close()
        let reopened = try openDB(db.directory, limits: Self.limits)
        #expect(try stored(reopened) == before)
        var batch = AppendBatch()
        batch.add(keeper, timestamp: base + 24 * hour, value: 24)
        #expect(try reopened.append(batch).seriesCreated == 0)
        try reopened.close()
    }

    /// Near the end of a 32-bit index a new series is rejected with its own
    /// reason; existing series keep accepting samples, nothing half-made stays,
    /// and room comes back once dropped series are reclaimed.
    @Test func fullIndexRejectsNewSeries() throws {
        let head = Head(chunkRange: Self.range, hashSeed: 7)
        var batch = AppendBatch()
        batch.add(series("a", ["i": "1"]), timestamp: t0, value: 1)
        #expect(try commit(head, batch).accepted == 1)

        head.capacity.maxSymbols = head.indexStats.symbols + 3
        batch = AppendBatch()
        batch.add(series("a", ["i": "2"]), timestamp: t0, value: 1)  // 4 symbols counted, 3 fit
        batch.add(series("a", ["i": "1"]), timestamp: t0 + 1, value: 2)
        var out = try commit(head, batch)
        #expect(out.rejected == [.headIndexFull: 1] && out.accepted == 1 && out.seriesCreated == 0)
        #expect(out.firstRejection!.description.contains("head-index-full"))
        #expect(out.firstRejection!.description.contains("symbol table is full"))
        #expect(head.seriesCount == 1 && head.indexStats.symbols == 4)
        head.capacity = HeadCapacity()

        head.capacity.maxSymbolBytes = head.indexStats.symbolBytes + 10
        batch = AppendBatch()
        batch.add(series("a", ["i": "3"]), timestamp: t0, value: 1)  // "__name__" "a" "i" "3": 11 bytes
        #expect(try commit(head, batch).rejected == [.headIndexFull: 1])
        head.capacity = HeadCapacity()

        head.capacity.maxLabelRefs = head.indexStats.labelRefs + 4
        batch = AppendBatch()
        batch.add(series("a", ["i": "4"]), timestamp: t0, value: 1)
        batch.add(series("a", ["i": "5"]), timestamp: t0, value: 1)
        out = try commit(head, batch)
        #expect(out.seriesCreated == 1 && out.rejected == [.headIndexFull: 1])
        #expect(out.firstRejection!.labels == series("a", ["i": "5"]))
        head.capacity = HeadCapacity()

        head.capacity.maxSeriesRef = head.lastRef + 1
        batch = AppendBatch()
        batch.add(series("b", ["i": "1"]), timestamp: t0, value: 1)
        batch.add(series("b", ["i": "2"]), timestamp: t0, value: 1)
        out = try commit(head, batch)
        #expect(out.seriesCreated == 1 && out.rejected == [.headIndexFull: 1])
        #expect(out.firstRejection!.description.contains("series refs"))
        #expect(head.seriesCount == 3)
        head.capacity = HeadCapacity()

        // Room comes back when dropped series are reclaimed.
        head.capacity.maxSymbols = head.indexStats.symbols
        batch = AppendBatch()
        batch.add(series("c"), timestamp: t0 + Self.range, value: 1)
        #expect(try commit(head, batch).rejected == [.headIndexFull: 1])
        _ = head.take(before: t0 + 10)
        #expect(head.seriesCount == 0 && head.indexStats.symbols == 1)
        #expect(try commit(head, batch).seriesCreated == 1)
    }

    /// A WAL naming more series than the head can index fails to replay with
    /// an error that names the ref, instead of trapping.
    @Test func replayBeyondTheIndexThrows() throws {
        let head = Head(chunkRange: Self.range, hashSeed: 7)
        head.capacity.maxSeriesRef = 2
        let record = WALRecord.series([WALSeries(ref: 1, labels: series("a")), WALSeries(ref: 3, labels: series("b"))]).encoded()
        let error = #expect(throws: HeadIndexFullError.self) {
            try record.withUnsafeBytes { try head.replaySeries($0) }
        }
        #expect(error?.ref == 3)
        #expect(head.seriesCount == 1)
    }

    /// Inputs whose first word cancels a public multiplier used to collide
    /// under every seed (the state was multiplied by zero); with the seed in
    /// both factors they spread like any others.
    @Test func hashCollisionsDependOnTheSeed() {
        let k1: UInt64 = 0xe703_7ed1_a0b4_28db
        var hashes = Set<UInt64>(), seeded = Set<UInt64>()
        for i in 0..<1000 as Range<UInt64> {
            let words = [k1, i &* 0x9E37_79B9_7F4A_7C15, 0x6162_6364]
            hashes.insert(words.withUnsafeBytes { cs_hash64($0.baseAddress, 24, 12345) })
            // The same input under 1000 seeds.
            seeded.insert(withUnsafeBytes(of: k1) { cs_hash64($0.baseAddress, 8, i) })
        }
        #expect(hashes.count == 1000)
        #expect(seeded.count == 1000)
        let bytes = Array("up{job=\"a\"}".utf8)
        #expect(cs_hash64(bytes, bytes.count, 1) != cs_hash64(bytes, bytes.count, 2))
        // Heads take the per-process seed unless a test fixes one.
        #expect(Head().hashSeed == HashSeed.process)
    }

    @Test func symbolTableCountsDeadStrings() {
        var table = SymbolTable(seed: 1)
        let a = table.intern("alpha"), b = table.intern("beta")
        #expect(table.deadCount == 2 && table.deadBytes == 9)
        table.retain(a)
        table.retain(a)
        table.retain(b)
        #expect(table.deadCount == 0 && table.deadBytes == 0)
        table.release(a)
        table.release(b)
        #expect(table.deadCount == 1 && table.deadBytes == 4)
        #expect(table.intern("beta") == b && table.count == 2)
        var copy = SymbolTable(seed: 1)
        #expect(copy.intern(a, of: table) == 0 && copy[0] == "alpha" && copy.id("alpha") == 0 && copy.id("beta") == nil)
    }
}
