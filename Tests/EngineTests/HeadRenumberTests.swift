import Formats
import Foundation
import StorageTestSupport
import Testing

@testable import Engine

/// Series ids are renumbered once most belong to dropped series: the head's
/// per-series arrays follow the live series, while refs stay unique, keep
/// increasing and keep naming the same series in commits, queries, the WAL
/// and the WBL.
@Suite struct HeadRenumberTests: HeadSuite {
    /// Generations of churners are created and dropped while long-lived
    /// series, a few new ones per generation (so their refs are far from
    /// their ids), receive samples by labels and by ref.
    @Test func idsStayBoundedAndRefsKeepTheirSeries() throws {
        let head = Head(chunkRange: Self.range, hashSeed: 11)
        let churnPerRound = 300, keepersPerRound = 5, rounds = 40
        var keepers: [(labels: Labels, ref: UInt64)] = []
        var expected: [Labels: [Sample]] = [:]
        var lastRef: UInt64 = 0
        var peakIDs = 0
        var droppedRefs: [UInt64] = []
        for round in 0..<rounds {
            let base = t0 + Int64(round) * Self.range
            var batch = AppendBatch()
            for (i, k) in keepers.enumerated() {
                let sample = Sample(timestamp: base, value: Double(round * 1000 + i))
                if round % 2 == 1 { batch.add(ref: k.ref, CollectionOfOne(sample)) } else { batch.add(k.labels, CollectionOfOne(sample)) }
                expected[k.labels, default: []].append(sample)
            }
            let churners = (0..<churnPerRound).map { series("churn", ["pod": "p\(round)-\($0)"]) }
            for labels in churners { batch.add(labels, timestamp: base, value: 1) }
            let fresh = (0..<keepersPerRound).map { series("keep", ["id": "k\(round)-\($0)"]) }
            for labels in fresh {
                batch.add(labels, timestamp: base, value: Double(round))
                expected[labels, default: []].append(Sample(timestamp: base, value: Double(round)))
            }
            let out = try commit(head, batch)
            #expect(out.accepted == keepers.count + churnPerRound + keepersPerRound)
            #expect(out.seriesCreated == churnPerRound + keepersPerRound)
            #expect(Array(out.refs.prefix(keepers.count)) == keepers.map(\.ref))
            // New refs continue after every ref handed out before, in batch order.
            let newRefs = Array(out.refs.dropFirst(keepers.count))
            #expect(newRefs == Array(lastRef + 1...lastRef + UInt64(newRefs.count)))
            lastRef += UInt64(newRefs.count)
            droppedRefs += newRefs.prefix(churnPerRound)
            keepers += zip(fresh, newRefs.suffix(keepersPerRound)).map { ($0, $1) }

            // A second sample, by ref, keeps the keepers alive past the truncation point.
            var late = AppendBatch()
            for (i, k) in keepers.enumerated() {
                let sample = Sample(timestamp: base + Self.range / 2, value: -Double(round * 1000 + i))
                late.add(ref: k.ref, CollectionOfOne(sample))
                expected[k.labels, default: []].append(sample)
            }
            #expect(try commit(head, late).accepted == keepers.count)
            #expect(values(head, [try LabelMatcher(.equal, "__name__", "churn")]).count == churnPerRound)
            peakIDs = max(peakIDs, head.indexStats.seriesIDs)

            _ = head.take(before: base + Self.range / 4)
            #expect(head.seriesCount == keepers.count)
            let stats = head.indexStats
            #expect(stats.seriesIDs <= 2 * head.seriesCount, "\(stats)")
            #expect(head.refs == head.refs.sorted() && Set(head.refs).count == head.refs.count)

            // Found by labels, by matchers and by ref as before the renumbering.
            for k in keepers { #expect(head.lookup(k.labels).map { head.refs[$0] } == k.ref) }
            #expect(values(head, [try LabelMatcher(.equal, "__name__", "churn")]).isEmpty)
            let mine = values(head, [try LabelMatcher(.equal, "__name__", "keep"), try LabelMatcher(.regexMatch, "id", "k\(round)-.*")])
            #expect(Set(mine.keys) == Set(fresh))
            for labels in fresh {
                let samples = mine[labels] ?? []
                #expect(!samples.isEmpty && samples == expected[labels]!.suffix(samples.count))
            }
            // Refs of dropped series name nothing, whatever id they had.
            for ref in droppedRefs.suffix(3) + [lastRef + 1] {
                var stale = AppendBatch()
                stale.add(ref: ref, timestamp: base + Self.range, value: 0)
                #expect(throws: UnknownSeriesRefError.self) { try commit(head, stale) }
            }
        }
        // Without renumbering the head would hold an id for every series ever made.
        #expect(peakIDs <= 2 * keepers.count + churnPerRound + keepersPerRound, "peak \(peakIDs)")
        #expect(head.lastRef == UInt64(rounds * (churnPerRound + keepersPerRound)))
        #expect(head.refs.count < rounds * churnPerRound / 10)
        let kept = values(head, [try LabelMatcher(.equal, "__name__", "keep")])
        #expect(kept.count == keepers.count)
        for (labels, samples) in kept { #expect(samples.count >= 2 && samples == expected[labels]!.suffix(samples.count)) }
    }

    /// Refs with gaps (dropped series, refs of other label sets skipped in
    /// replay), some of them dead: every ref from any known starting pair
    /// resolves to its id exactly when the series is alive.
    @Test func refsResolveToTheirIDsFromAnyStartingPoint() {
        let head = Head(chunkRange: Self.range, hashSeed: 9)
        var ref: UInt64 = 0
        var expected: [UInt64: Int] = [:]
        for i in 0..<300 {
            ref += [1, 1, 2, 7, 40][i % 5]
            let id = head.createSeries(ref: ref, labels: series("m", ["i": "\(i)"]))
            if i % 7 == 3 { head.alive[id] = false } else { expected[ref] = id }
        }
        let pairs = [(UInt64(0), -1)] + stride(from: 0, to: 300, by: 37).map { (head.refs[$0], $0) } + [(head.refs[299], 299)]
        for known in pairs {
            for r in 0...ref + 3 {
                #expect(head.liveID(ref: r, near: known) == expected[r], "ref \(r) from \(known)")
            }
        }
    }

    /// Ids are bounded separately from refs: a full id space refuses new
    /// series until renumbering gives the ids of dropped ones back.
    @Test func fullIDSpaceComesBackAfterRenumbering() throws {
        let head = Head(chunkRange: Self.range, hashSeed: 5)
        var batch = AppendBatch()
        for i in 0..<10 { batch.add(series("gone", ["i": "\(i)"]), timestamp: t0, value: 1) }
        batch.add(series("kept"), timestamp: t0, value: 1)
        #expect(try commit(head, batch).seriesCreated == 11)
        batch = AppendBatch()
        batch.add(series("kept"), timestamp: t0 + Self.range / 2, value: 2)
        #expect(try commit(head, batch).accepted == 1)

        head.capacity.maxSeriesIDs = 11
        batch = AppendBatch()
        batch.add(series("new"), timestamp: t0 + Self.range / 2, value: 3)
        let out = try commit(head, batch)
        #expect(out.rejected == [.headIndexFull: 1] && out.seriesCreated == 0)
        #expect(out.firstRejection!.description.contains("series index is full"))

        _ = head.take(before: t0 + Self.range / 4)
        #expect(head.indexStats.seriesIDs == 1 && head.seriesCount == 1)
        let again = try commit(head, batch)
        // The rejected series took no ref.
        #expect(again.seriesCreated == 1 && again.refs == [12])
        #expect(
            values(head, [try LabelMatcher(.regexMatch, "__name__", "kept|new")]) == [
                series("kept"): [Sample(timestamp: t0, value: 1), Sample(timestamp: t0 + Self.range / 2, value: 2)],
                series("new"): [Sample(timestamp: t0 + Self.range / 2, value: 3)]
            ])
    }

    /// Through the database: blocks are cut while series churn (renumbering
    /// the head), in-order and out-of-order samples arrive by ref after that,
    /// and a restart (checkpoint, WAL and WBL replay) restores every series
    /// with its samples under the same refs.
    @Test func replayAfterRenumberingRestoresEverySeries() throws {
        let hour: Int64 = 3_600_000
        let base = t0 / (2 * hour) * (2 * hour)
        var limits = Self.limits
        limits.outOfOrderWindow = hour
        let db = try openDB(limits: limits)
        var keepers: [(labels: Labels, ref: UInt64)] = []
        var lastIDs = 0
        for h in 0..<24 {
            let t = base + Int64(h) * hour
            var batch = AppendBatch()
            for k in keepers { batch.add(ref: k.ref, timestamp: t, value: Double(h)) }
            for i in 0..<100 { batch.add(series("churn", ["pod": "p\(h)-\(i)"]), timestamp: t, value: 1) }
            let fresh = series("keep", ["id": "\(h)"])
            batch.add(fresh, timestamp: t, value: Double(h))
            let out = try db.append(batch)
            #expect(out.accepted == keepers.count + 101)
            keepers.append((fresh, out.refs.last!))
            // Out-of-order samples by ref, which the WBL and its rewrite name by ref.
            var late = AppendBatch()
            for k in keepers.dropLast() { late.add(ref: k.ref, timestamp: t - 20 * 60_000, value: -Double(h)) }
            #expect(try db.append(late).outOfOrder == keepers.count - 1)
            _ = try db.compact()
            lastIDs = db.head.indexStats.seriesIDs
        }
        // Renumbering took place: far fewer ids than refs handed out, and refs far from their ids.
        #expect(lastIDs * 2 < Int(db.head.lastRef), "\(lastIDs) ids for \(db.head.lastRef) refs")
        #expect(db.head.liveID(ref: keepers[12].ref).map { $0 < Int(keepers[12].ref) / 2 } == true)
        // After the last checkpoint: the WAL alone names these by ref.
        var batch = AppendBatch()
        for k in keepers { batch.add(ref: k.ref, timestamp: base + 24 * hour, value: 24) }
        batch.add(series("after", ["id": "1"]), timestamp: base + 24 * hour, value: 1)
        #expect(try db.append(batch).accepted == keepers.count + 1)
        batch = AppendBatch()
        for k in keepers { batch.add(ref: k.ref, timestamp: base + 24 * hour - 10 * 60_000, value: -24) }
        #expect(try db.append(batch).outOfOrder == keepers.count)

        let before = try stored(db)
        for (i, k) in keepers.enumerated() {
            #expect(before[k.labels]?.contains(Sample(timestamp: base + 24 * hour, value: 24)) == true)
            #expect(before[k.labels]?.first == Sample(timestamp: base + Int64(i) * hour, value: Double(i)))
        }
        let lastRef = db.head.lastRef
        try db.close()
        let reopened = try openDB(db.directory, limits: limits)
        #expect(try stored(reopened) == before)
        #expect(reopened.head.lastRef == lastRef)
        // Refs still name their series, and new series continue after them.
        batch = AppendBatch()
        for k in keepers { batch.add(ref: k.ref, timestamp: base + 25 * hour, value: 25) }
        batch.add(series("after", ["id": "2"]), timestamp: base + 25 * hour, value: 1)
        let out = try reopened.append(batch)
        #expect(out.accepted == keepers.count + 1 && out.refs.last == lastRef + 1)
        let now = try stored(reopened)
        for k in keepers { #expect(now[k.labels]?.last == Sample(timestamp: base + 25 * hour, value: 25)) }
        try reopened.close()
    }

    /// A cursor copies the head's series when it is made: renumbering before
    /// it is read to the end changes nothing it returns.
    @Test func cursorSpanningARenumberingReturnsItsSeries() throws {
        let hour: Int64 = 3_600_000
        let base = t0 / (2 * hour) * (2 * hour)
        let db = try openDB(limits: Self.limits)
        let keepers = (0..<20).map { series("keep", ["id": "\($0)"]) }
        for h in 0..<3 {
            var batch = AppendBatch()
            for i in 0..<200 { batch.add(series("churn", ["pod": "p\(h)-\(i)"]), timestamp: base + Int64(h) * hour, value: 1) }
            for (i, labels) in keepers.enumerated() { batch.add(labels, timestamp: base + Int64(h) * hour, value: Double(i)) }
            #expect(try db.append(batch).accepted == 220)
        }
        let matchers = [try LabelMatcher(.equal, "__name__", "keep")]
        let expected = try db.select(matchers: matchers).map { ($0.labels, try $0.samples()) }
        #expect(expected.count == keepers.count)
        var cursor = try db.cursor(
            mint: .min, maxt: .max, matchers: matchers,
            bounds: ReadBounds(maxSeries: 1000, deadline: .now + .seconds(600)))
        let first = try cursor.next()
        let idsBefore = db.head.indexStats.seriesIDs

        // Hours later the churners are cut out and the head renumbered.
        var batch = AppendBatch()
        for (i, labels) in keepers.enumerated() { batch.add(labels, timestamp: base + 6 * hour, value: Double(i)) }
        #expect(try db.append(batch).accepted == keepers.count)
        _ = try db.compact()
        #expect(db.head.indexStats.seriesIDs == keepers.count && idsBefore > 2 * keepers.count)

        var got: [(Labels, [Sample])] = []
        if let first { got.append((first.labels, try first.samples())) }
        while let s = try cursor.next() { got.append((s.labels, try s.samples())) }
        #expect(got.map(\.0) == expected.map(\.0))
        #expect(got.map(\.1) == expected.map(\.1))
    }
}
