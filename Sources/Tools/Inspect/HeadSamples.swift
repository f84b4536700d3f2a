import Formats

/// The head of a tenant database as `promtool tsdb dump` sees it: the samples of
/// `wal/` replayed the way Prometheus 2.42 replays them read-only, plus the
/// out-of-order samples of `wbl/`.
///
/// Contract (matches `DBReadOnly.Querier` in 2.42): in-order WAL samples below
/// `minValidTime` (the newest block's `maxTime`) are dropped, and per series a
/// sample is kept only if it is newer than the last one kept; WBL samples are
/// all kept; WAL tombstones delete from the head's samples. Series are keyed by
/// labels, so several refs with one label set merge.
struct HeadSamples {
    /// Each series' in-order and out-of-order samples, both in log order.
    struct Series {
        var inOrder: [Sample] = []
        var outOfOrder: [Sample] = []
        var deleted: [(Int64, Int64)] = []
    }

    private(set) var series: [Labels: Series] = [:]

    init(wal: String?, wbl: String?, minValidTime: Int64) throws {
        var labelsByRef: [UInt64: Labels] = [:]
        var byRef: [UInt64: Series] = [:]
        if let wal {
            try WALScan.walk(wal) { _, record in
                switch record {
                case .series(let entries):
                    for e in entries { labelsByRef[e.ref] = e.labels }
                case .samples(let samples):
                    for s in samples where s.timestamp >= minValidTime {
                        if let last = byRef[s.ref]?.inOrder.last, s.timestamp <= last.timestamp { continue }
                        byRef[s.ref, default: Series()].inOrder.append(Sample(timestamp: s.timestamp, value: s.value))
                    }
                case .tombstones(let stones):
                    for t in stones { byRef[t.ref, default: Series()].deleted.append((t.minTime, t.maxTime)) }
                case .other:
                    break
                }
            }
        }
        if let wbl {
            try WALScan.walk(wbl) { _, record in
                if case .samples(let samples) = record {
                    for s in samples {
                        byRef[s.ref, default: Series()].outOfOrder.append(Sample(timestamp: s.timestamp, value: s.value))
                    }
                }
            }
        }
        for (ref, data) in byRef {
            guard let labels = labelsByRef[ref] else { continue }
            series[labels, default: Series()].inOrder += data.inOrder
            series[labels, default: Series()].outOfOrder += data.outOfOrder
            series[labels, default: Series()].deleted += data.deleted
        }
    }
}
