/// Names inside a WAL directory: segments `00000000`, `00000001`, … and
/// checkpoints `checkpoint.NNNNNNNN` (N = last segment folded in).
public enum WALSegments {
    public static func name(_ index: Int) -> String {
        let digits = String(index)
        return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    /// Segment indices present, ascending. Non-numeric names are ignored.
    public static func list(_ directory: String) throws -> [Int] {
        try Files.list(directory).compactMap { $0.count == 8 ? Int($0) : nil }.sorted()
    }

    /// Completed checkpoints, ascending by the segment index they cover.
    public static func checkpoints(_ directory: String) throws -> [(index: Int, path: String)] {
        try Files.list(directory).compactMap { name -> (Int, String)? in
            guard name.hasPrefix("checkpoint."), !name.hasSuffix(".tmp"),
                let n = Int(name.dropFirst("checkpoint.".count))
            else { return nil }
            return (n, directory + "/" + name)
        }.sorted { $0.0 < $1.0 }
    }

    static func checkpointName(_ index: Int) -> String { "checkpoint." + name(index) }
}

/// Where replay found a corrupt or torn record: the truncation point.
public struct WALCorruption: Error, Sendable, Equatable, CustomStringConvertible {
    public let file: String
    public let segment: Int
    public let offset: Int
    public let reason: String

    public var description: String { "\(file): offset \(offset): \(reason)" }
}
