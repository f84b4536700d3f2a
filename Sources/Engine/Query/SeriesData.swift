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

    /// Every sample in [mint, maxt] in time order, one per timestamp (an
    /// in-order sample wins over an out-of-order one at the same time).
    public func samples(mint: Int64 = .min, maxt: Int64 = .max) throws -> [Sample] {
        var inOrder: [Sample] = []
        for meta in chunks { inOrder += try meta.chunk.samples() }
        var late = outOfOrderSamples
        for meta in outOfOrderChunks { late += try meta.chunk.samples() }
        let merged: [Sample]
        if late.isEmpty {
            merged = inOrder
        } else {
            late.sort { $0.timestamp < $1.timestamp }
            var out: [Sample] = []
            out.reserveCapacity(inOrder.count + late.count)
            var i = 0, j = 0
            while i < inOrder.count || j < late.count {
                if j == late.count || (i < inOrder.count && inOrder[i].timestamp <= late[j].timestamp) {
                    if j < late.count, late[j].timestamp == inOrder[i].timestamp { j += 1 }
                    out.append(inOrder[i]); i += 1
                } else {
                    if out.last?.timestamp != late[j].timestamp { out.append(late[j]) }
                    j += 1
                }
            }
            merged = out
        }
        if mint == .min && maxt == .max { return merged }
        return merged.filter { $0.timestamp >= mint && $0.timestamp <= maxt }
    }
}
