/// One float sample. Equality compares the value's bit pattern, so NaN payloads
/// (Prometheus's stale marker) are distinguished and a NaN equals itself.
public struct Sample: Sendable, Hashable, CustomStringConvertible {
    public var timestamp: Int64
    public var value: Double

    @inlinable public init(timestamp: Int64, value: Double) {
        self.timestamp = timestamp
        self.value = value
    }

    @inlinable public init(timestamp: Int64, valueBits: UInt64) {
        self.init(timestamp: timestamp, value: Double(bitPattern: valueBits))
    }

    @inlinable public static func == (a: Sample, b: Sample) -> Bool {
        a.timestamp == b.timestamp && a.value.bitPattern == b.value.bitPattern
    }

    @inlinable public func hash(into hasher: inout Hasher) {
        hasher.combine(timestamp)
        hasher.combine(value.bitPattern)
    }

    public var description: String { "(\(timestamp), \(value))" }

    /// Prometheus's stale marker: a NaN with this exact bit pattern.
    public static let staleNaNBits: UInt64 = 0x7FF0_0000_0000_0002
}

/// On-disk chunk encodings (the byte before the chunk data). Numbers are fixed by
/// the Prometheus format and never reused.
public enum ChunkEncoding: UInt8, Sendable {
    case xor = 1
    case histogram = 2
    case floatHistogram = 3
}
