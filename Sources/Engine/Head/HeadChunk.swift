import Formats

/// A series' closed chunks, allocated on the first cut so idle series pay nothing.
final class ClosedChunks {
    var chunks: [ChunkMeta] = []
}

/// Out-of-order samples of one series: a small sorted buffer, flushed into
/// immutable chunks of at most `capacity` samples.
final class OutOfOrderSamples {
    static let capacity = 32
    var buffer: [Sample] = []
    var chunks: [ChunkMeta] = []

    /// Inserts in time order. Returns false for a timestamp already buffered
    /// (`sameValue` tells whether it carried the same value).
    func insert(_ s: Sample) -> (inserted: Bool, sameValue: Bool) {
        var lo = 0, hi = buffer.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if buffer[mid].timestamp < s.timestamp { lo = mid + 1 } else { hi = mid }
        }
        if lo < buffer.count, buffer[lo].timestamp == s.timestamp {
            return (false, buffer[lo].value.bitPattern == s.value.bitPattern)
        }
        buffer.insert(s, at: lo)
        if buffer.count >= Self.capacity {
            // Sorted and strictly increasing, so encoding cannot fail.
            let chunk = try! XORChunk(encoding: buffer)
            chunks.append(ChunkMeta(minTime: buffer.first!.timestamp, maxTime: buffer.last!.timestamp, chunk: chunk))
            buffer.removeAll(keepingCapacity: true)
        }
        return (true, false)
    }

    func contains(timestamp t: Int64) -> Sample? {
        buffer.first { $0.timestamp == t }
    }

    var count: Int { buffer.count + chunks.reduce(0) { $0 + $1.chunk.count } }
}
