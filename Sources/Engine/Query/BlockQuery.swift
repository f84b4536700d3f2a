import Formats

/// Series selection on a persisted block, through the same postings algorithm
/// as the head.
extension BlockReader {
    /// Series matching `matchers` with chunks overlapping [mint, maxt], sorted by
    /// labels (index order), chunk bytes read from the segment files.
    package func select(mint: Int64 = .min, maxt: Int64 = .max, matchers: [LabelMatcher]) throws -> [SeriesData] {
        guard meta.maxTime > mint, meta.minTime <= maxt else { return [] }
        var out: [SeriesData] = []
        for id in BlockPostings(index: index).select(matchers) {
            let series = try index.series(id)
            var chunks: [ChunkMeta] = []
            for c in series.chunks where c.maxTime >= mint && c.minTime <= maxt {
                let record = try chunk(c.ref)
                chunks.append(ChunkMeta(minTime: c.minTime, maxTime: c.maxTime, chunk: XORChunk(bytes: record.data)))
            }
            if !chunks.isEmpty { out.append(SeriesData(labels: series.labels, chunks: chunks)) }
        }
        return out
    }
}

package struct BlockPostings: PostingsIndex {
    let index: IndexReader

    package init(index: IndexReader) { self.index = index }

    package func postingsValues(of name: String) -> [String]? {
        let values = index.labelValues(name)
        return values.isEmpty ? nil : values
    }

    package func postingsList(_ name: String, _ value: String) -> [UInt32] {
        (try? index.postings(name: name, value: value)) ?? []
    }

    package func allPostingsList() -> [UInt32] { (try? index.allPostings()) ?? [] }
}
