/// Reads a WAL directory back: the newest checkpoint, then every later segment.
public enum WALReplay {
    /// Calls `body` for every record in order. With `repair`, a corrupt or torn
    /// record ends replay: its segment is truncated at the record's start and
    /// later segments are deleted (as Prometheus does), and the report says where.
    /// Without `repair` the corruption is thrown. A corrupt checkpoint always throws.
    @discardableResult
    public static func run(
        directory: String, repair: Bool,
        _ body: (UnsafeRawBufferPointer) throws -> Void
    ) throws -> WALReplayReport {
        var report = WALReplayReport()
        // A checkpoint left half-written by a crash is incomplete: drop it.
        for name in try Files.list(directory) where repair && name.hasPrefix("checkpoint.") && name.hasSuffix(".tmp") {
            try Files.remove(directory + "/" + name)
        }
        if let checkpoint = try WALSegments.checkpoints(directory).last {
            report.checkpoint = checkpoint.index
            for index in try WALSegments.list(checkpoint.path) {
                let path = checkpoint.path + "/" + WALSegments.name(index)
                report.bytes += try WALReader.readSegment(path: path, segment: index) { record, _ in
                    report.records += 1
                    try body(record)
                }
            }
        }
        let segments = try WALSegments.list(directory).filter { $0 > (report.checkpoint ?? -1) }
        for (position, index) in segments.enumerated() {
            let path = directory + "/" + WALSegments.name(index)
            if position > 0, segments[position - 1] != index - 1 {
                let gap = WALCorruption(
                    file: path, segment: index, offset: 0,
                    reason: "segment \(WALSegments.name(index - 1)) is missing")
                guard repair else { throw gap }
                report.corruption = gap
                report.segmentsDropped = Array(segments[position...])
                for dropped in report.segmentsDropped { try Files.remove(directory + "/" + WALSegments.name(dropped)) }
                break
            }
            do {
                report.bytes += try WALReader.readSegment(path: path, segment: index) { record, _ in
                    report.records += 1
                    try body(record)
                }
                report.segmentsRead += 1
            } catch let corruption as WALCorruption {
                guard repair else { throw corruption }
                report.corruption = corruption
                report.segmentsRead += 1
                try Files.truncate(path, to: corruption.offset)
                report.segmentsDropped = Array(segments[(position + 1)...])
                for dropped in report.segmentsDropped { try Files.remove(directory + "/" + WALSegments.name(dropped)) }
                try Files.syncDirectory(directory)
                break
            }
        }
        return report
    }
}
