/// A closed chunk (in the head, a block or a remote-read frame): immutable XOR
/// bytes and their time span.
public struct ChunkMeta: Sendable, Equatable {
    public var minTime: Int64
    public var maxTime: Int64
    public var chunk: XORChunk

    public init(minTime: Int64, maxTime: Int64, chunk: XORChunk) {
        self.minTime = minTime
        self.maxTime = maxTime
        self.chunk = chunk
    }
}
