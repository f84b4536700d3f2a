import ArgumentParser
import Engine
import Formats
import Foundation

/// Test helper (hidden): appends numbered batches to a WAL forever and prints
/// `ack N` after each commit returns, so a test can SIGKILL it at any moment and
/// check that every acknowledged batch survived.
///
/// Batch N is one series record (ref N) plus one samples record of
/// `samplesPerBatch` samples of that series with values N.
struct WALCrashWriter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crash-writer", abstract: "Test helper: append acknowledged batches until killed.",
        shouldDisplay: false)

    static let samplesPerBatch = 50

    @Argument var directory: String
    @Option var fsync: String = "interval"
    @Option var segmentPages: Int = 8

    func run() throws {
        let policy: FsyncPolicy =
            switch fsync {
            case "always": .always
            case "never": .never
            default: .interval(milliseconds: 50)
            }
        // Resume after the last batch whose samples record (the last of its commit)
        // replayed. A kill inside the commit's write(2) can leave its series record
        // alone; that batch was never acknowledged and is written again, so the
        // numbers stay contiguous and the test may expect every batch below an ack.
        var next: UInt64 = 1
        let (wal, _) = try WAL.open(
            directory: directory,
            options: WALOptions(
                segmentSize: segmentPages * WAL.pageSize, compression: .lz4, fsync: policy)
        ) { record in
            if case .samples(let samples) = record { next = max(next, (samples.map(\.ref).max() ?? 0) + 1) }
        }
        let out = FileHandle.standardOutput
        while true {
            let labels = Labels([
                Label("__name__", "crash_test"), Label("batch", String(next)),
                Label("padding", String(repeating: "x", count: Int(next % 300)))
            ])
            let samples = (0..<Self.samplesPerBatch).map {
                WALSample(ref: next, timestamp: Int64(next) * 1000 + Int64($0), value: Double(next))
            }
            try wal.log(.series([WALSeries(ref: next, labels: labels)]), .samples(samples))
            out.write(Data("ack \(next)\n".utf8))
            next += 1
        }
    }
}

/// Test helper (hidden): appends batches through a tenant database (head + WAL)
/// and prints `ack N` after each append returns. Batch N is one sample, at
/// `start + N` seconds with value N, for each of `seriesPerBatch` series.
struct DBCrashWriter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db-crash-writer", abstract: "Test helper: append acknowledged batches to a database until killed.",
        shouldDisplay: false)

    static let seriesPerBatch = 20

    @Argument var directory: String
    @Option var start: Int64
    @Option(help: "Block range in ms; small values make cuts frequent.") var blockRange: Int64 = 2 * 3_600_000
    @Option(help: "Ship blocks to this bucket directory after each cut.") var bucket: String?

    func run() throws {
        let db = try TenantDB.open(
            directory: directory, tenant: "crash",
            options: DatabaseOptions(
                wal: WALOptions(segmentSize: 8 * WAL.pageSize, fsync: .interval(milliseconds: 50)), chunkRange: blockRange))
        let shipper = try bucket.map {
            try Shipper(tenant: "crash", tenantDirectory: directory, bucket: try FilesystemBucket(root: $0))
        }
        var next = Int64(db.head.maxTime == .min ? 1 : (db.head.maxTime - start) / 1000 + 1)
        let out = FileHandle.standardOutput
        while true {
            var batch = AppendBatch()
            for s in 0..<Self.seriesPerBatch {
                batch.add(
                    Labels([Label("__name__", "crash"), Label("s", String(s))]),
                    timestamp: start + next * 1000, value: Double(next))
            }
            let outcome = try db.append(batch)
            guard outcome.accepted == Self.seriesPerBatch else { throw CLIFailure("batch \(next) not accepted: \(outcome)") }
            out.write(Data("ack \(next)\n".utf8))
            next += 1
            if next % 25 == 0 {
                try db.compact()
                _ = try shipper?.sync()
            }
        }
    }
}
