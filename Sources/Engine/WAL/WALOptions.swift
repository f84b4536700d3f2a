/// When the WAL forces written data to stable storage.
public enum FsyncPolicy: Sendable, Equatable, CustomStringConvertible {
    /// Every commit waits for an fsync covering it; concurrent commits share one.
    case always
    /// A background fsync every interval, and on segment close.
    case interval(milliseconds: Int)
    /// Only on segment close and on `close()`.
    case never

    public var description: String {
        switch self {
        case .always: "always"
        case .interval(let ms): "interval(\(ms)ms)"
        case .never: "never"
        }
    }
}

public enum WALCompression: String, Sendable, Equatable {
    /// Records as Prometheus 2.x writes them uncompressed: readable by promtool.
    case none
    /// Muninn's extension: LZ4 blocks flagged 0x20 (docs/format/wal.md).
    case lz4
}

public struct WALOptions: Sendable, Equatable {
    /// Segment size in bytes, a multiple of the 32 KiB page.
    public var segmentSize: Int
    public var compression: WALCompression
    public var fsync: FsyncPolicy

    public init(
        segmentSize: Int = 128 * 1024 * 1024, compression: WALCompression = .lz4,
        fsync: FsyncPolicy = .interval(milliseconds: 1000)
    ) {
        precondition(
            segmentSize >= WAL.pageSize && segmentSize % WAL.pageSize == 0,
            "segment size must be a positive multiple of \(WAL.pageSize)")
        self.segmentSize = segmentSize
        self.compression = compression
        self.fsync = fsync
    }
}

/// What opening a WAL found and did.
public struct WALReplayReport: Sendable, Equatable {
    public var checkpoint: Int?
    public var segmentsRead = 0
    public var records = 0
    public var bytes = 0
    /// The corrupt or torn record replay stopped at; the WAL was truncated there.
    public var corruption: WALCorruption?
    /// Segments deleted because they followed the corruption.
    public var segmentsDropped: [Int] = []
}
