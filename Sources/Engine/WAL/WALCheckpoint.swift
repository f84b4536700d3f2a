import Formats

/// Compacts the start of a WAL: the previous checkpoint plus segments up to
/// `last` become `checkpoint.<last>/`, keeping only live series and samples at or
/// after `minTime`; those segments and older checkpoints are then deleted.
package enum WALCheckpoint {
    package struct Stats: Sendable, Equatable {
        package var seriesKept = 0, seriesDropped = 0
        package var samplesKept = 0, samplesDropped = 0
        package var tombstonesKept = 0, tombstonesDropped = 0
    }

    /// `last` must be a finished segment (below the one being written).
    /// Crash-safe: the checkpoint is built in `checkpoint.<last>.tmp` and renamed
    /// into place only when complete and synced.
    @discardableResult
    package static func create(
        directory: String, upTo last: Int, options: WALOptions,
        keep: (UInt64) -> Bool, minTime: Int64
    ) throws -> Stats {
        let previous = try WALSegments.checkpoints(directory).last
        let segments = try WALSegments.list(directory).filter { $0 > (previous?.index ?? -1) && $0 <= last }
        let finalPath = directory + "/" + WALSegments.checkpointName(last)
        let tmpPath = finalPath + ".tmp"
        try Files.remove(tmpPath)
        let (out, _) = try WAL.open(
            directory: tmpPath,
            options: WALOptions(
                segmentSize: options.segmentSize, compression: options.compression, fsync: .never))

        var stats = Stats()
        var pending: [[UInt8]] = []
        var pendingBytes = 0
        func emit(_ record: WALRecord) throws {
            let bytes = record.encoded()
            pending.append(bytes)
            pendingBytes += bytes.count
            if pendingBytes >= 1 << 20 {
                try out.log(pending)
                pending.removeAll(keepingCapacity: true)
                pendingBytes = 0
            }
        }
        func fold(_ raw: UnsafeRawBufferPointer) throws {
            switch try WALRecord.decode(raw) {
            case .series(let entries):
                let kept = entries.filter { keep($0.ref) }
                stats.seriesKept += kept.count
                stats.seriesDropped += entries.count - kept.count
                if !kept.isEmpty { try emit(.series(kept)) }
            case .samples(let samples):
                let kept = samples.filter { $0.timestamp >= minTime && keep($0.ref) }
                stats.samplesKept += kept.count
                stats.samplesDropped += samples.count - kept.count
                if !kept.isEmpty { try emit(.samples(kept)) }
            case .tombstones(let stones):
                let kept = stones.filter { $0.maxTime >= minTime && keep($0.ref) }
                stats.tombstonesKept += kept.count
                stats.tombstonesDropped += stones.count - kept.count
                if !kept.isEmpty { try emit(.tombstones(kept)) }
            case .other:
                break  // Record types this version does not know are not carried forward.
            }
        }
        if let previous {
            for index in try WALSegments.list(previous.path) {
                try WALReader.readSegment(path: previous.path + "/" + WALSegments.name(index), segment: index) { r, _ in try fold(r) }
            }
        }
        for index in segments {
            try WALReader.readSegment(path: directory + "/" + WALSegments.name(index), segment: index) { r, _ in try fold(r) }
        }
        if !pending.isEmpty { try out.log(pending) }
        try out.close()
        try Files.syncDirectory(tmpPath)
        try Files.renameDurably(tmpPath, to: finalPath)

        for index in try WALSegments.list(directory) where index <= last {
            try Files.remove(directory + "/" + WALSegments.name(index))
        }
        for old in try WALSegments.checkpoints(directory) where old.index < last {
            try Files.remove(old.path)
        }
        try Files.syncDirectory(directory)
        return stats
    }
}
