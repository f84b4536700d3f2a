import Engine
import Formats
import StorageTestSupport
import Testing

/// A decoded remote-write batch appended to a tenant database (the decoding
/// itself is tested in FormatsTests' RemoteWriteTests).
@Suite struct RemoteWriteAppendTests {
    @Test func rawBatchesFindTheSeriesLabelBatchesCreated() throws {
        let db = try openDB()
        let a = series("up", ["job": "a"]), b = series("up", ["job": "b"])
        var first = AppendBatch()
        first.add(a, timestamp: t0, value: 1)
        let created = try db.append(first)
        // b is new and named twice; a exists already.
        let request = RemoteWriteRequest(series: [
            RemoteWriteSeries(labels: b, samples: [Sample(timestamp: t0, value: 2)]),
            RemoteWriteSeries(labels: a, samples: [Sample(timestamp: t0 + 1, value: 3)]),
            RemoteWriteSeries(labels: b, samples: [Sample(timestamp: t0 + 1, value: 4)]),
            RemoteWriteSeries(labels: a, samples: [Sample(timestamp: t0, value: 9)])
        ])
        let raw = try RemoteWrite.decodeBatch(snappyBody: RemoteWrite.encode(request), maxDecodedBytes: 1 << 20)
        let out = try db.append(raw.batch)
        #expect(out.refs == [2, created.refs[0], 2, created.refs[0]])
        #expect(out.seriesCreated == 1 && out.accepted == 3)
        #expect(out.firstRejection?.labels == a && out.firstRejection?.reason == .outOfOrder)
        let all = try everything(db)
        #expect(all[a] == [Sample(timestamp: t0, value: 1), Sample(timestamp: t0 + 1, value: 3)])
        #expect(all[b] == [Sample(timestamp: t0, value: 2), Sample(timestamp: t0 + 1, value: 4)])
    }
}
