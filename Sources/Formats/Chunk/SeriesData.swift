/// One series as a query returns it: its labels and the chunks that overlap the
/// query range, copied out of the head (or read from a block) so they can be
/// decoded without holding any lock.
public struct SeriesData: Sendable, Equatable {
    public var labels: Labels
    /// In-order chunks, ascending and non-overlapping.
    public var chunks: [ChunkMeta]
    /// Out-of-order chunks and not-yet-chunked out-of-order samples.
    public var outOfOrderChunks: [ChunkMeta]
    public var outOfOrderSamples: [Sample]

    public init(labels: Labels, chunks: [ChunkMeta], outOfOrderChunks: [ChunkMeta] = [], outOfOrderSamples: [Sample] = []) {
        self.labels = labels
        self.chunks = chunks
        self.outOfOrderChunks = outOfOrderChunks
        self.outOfOrderSamples = outOfOrderSamples
    }

    /// Every sample in [mint, maxt] in time order, one per timestamp. Chunks
    /// from different sources may overlap (a block and an out-of-order block);
    /// then the earlier-listed in-order chunk wins a tie, and in-order data wins
    /// over out-of-order data.
    public func samples(mint: Int64 = .min, maxt: Int64 = .max) throws -> [Sample] {
        var inOrder: [Sample] = []
        var sorted = true
        for meta in chunks {
            let decoded = try meta.chunk.samples()
            if let last = inOrder.last, let first = decoded.first, first.timestamp <= last.timestamp { sorted = false }
            inOrder += decoded
        }
        if !sorted { inOrder = Self.dedupe(inOrder) }
        var late = outOfOrderSamples
        for meta in outOfOrderChunks { late += try meta.chunk.samples() }
        var merged = inOrder
        if !late.isEmpty {
            merged = Self.dedupe(inOrder + late)
        }
        if mint == .min && maxt == .max { return merged }
        return merged.filter { $0.timestamp >= mint && $0.timestamp <= maxt }
    }

    /// Stable sort by time, keeping the first sample of each timestamp.
    private static func dedupe(_ samples: [Sample]) -> [Sample] {
        let ordered = samples.enumerated().sorted {
            $0.element.timestamp != $1.element.timestamp ? $0.element.timestamp < $1.element.timestamp : $0.offset < $1.offset
        }
        var out: [Sample] = []
        out.reserveCapacity(ordered.count)
        for (_, s) in ordered where out.last?.timestamp != s.timestamp { out.append(s) }
        return out
    }
}
