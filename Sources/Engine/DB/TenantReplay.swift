import Formats
import Foundation
import Logging

/// Rebuilding a tenant's head from its logs when the database opens.
extension TenantDB {
    /// Replays checkpoint, WAL and WBL into `head` and returns the opened logs,
    /// repaired of any corrupt tail, ready for appends.
    static func replayLogs(
        into head: Head, directory: String, tenant: String, options: DatabaseOptions,
        logger: Logger
    ) throws -> (wal: WAL, wbl: WAL) {
        let started = Date()
        let progress = ReplayProgress(directory: directory + "/wal", tenant: tenant, logger: logger)
        var decoder = WALSamplesDecoder()
        var unstorable = 0
        let (wal, report) = try WAL.open(
            directory: directory + "/wal", options: options.wal,
            rawReplay: { record in
                progress.advance(record.count)
                unstorable += try head.replay(record, decoder: &decoder, outOfOrder: false)
            })
        let (wbl, wblReport) = try WAL.open(
            directory: directory + "/wbl", options: options.wal,
            rawReplay: { record in
                unstorable += try head.replay(record, decoder: &decoder, outOfOrder: true)
            })
        if unstorable > 0 {
            logger.error(
                "dropped replayed samples whose block range does not fit in Int64",
                metadata: [
                    "tenant": "\(tenant)", "samples": "\(unstorable)"
                ])
        }
        for (name, r) in [("WAL", report), ("WBL", wblReport)] {
            if let corruption = r.corruption {
                logger.warning(
                    "repaired corrupt \(name) tail; data after it is lost",
                    metadata: [
                        "tenant": "\(tenant)", "at": "\(corruption)", "dropped_segments": "\(r.segmentsDropped.count)"
                    ])
            }
        }
        if report.records > 0 {
            logger.info(
                "replayed WAL",
                metadata: [
                    "tenant": "\(tenant)", "records": "\(report.records)", "series": "\(head.seriesCount)",
                    "duration": "\(String(format: "%.3f", Date().timeIntervalSince(started)))s"
                ])
        }
        return (wal, wbl)
    }
}

extension Head {
    /// Applies one WAL/WBL record during replay. Samples the head cannot take
    /// (duplicates after a crash between log and apply, refs of dropped series)
    /// are skipped, as Prometheus does. So are samples no block could hold
    /// (timestamps at the ends of Int64, which versions before the grace-period
    /// checks accepted): kept, they would stop every later cut. Returns how
    /// many of those were dropped.
    @discardableResult
    func replay(_ record: UnsafeRawBufferPointer, decoder: inout WALSamplesDecoder, outOfOrder: Bool) throws -> Int {
        guard let type = record.first else { return 0 }
        lock.lock()
        defer { lock.unlock() }
        var unstorable = 0
        switch WALRecord.RecordType(rawValue: type) {
        case .series:
            try replaySeries(record)
        case .samples:
            try decoder.decode(record)
            var near: (ref: UInt64, id: Int) = (0, -1)
            for i in 0..<decoder.count {
                guard let id = liveID(ref: decoder.refs[i], near: near) else { continue }
                near = (decoder.refs[i], id)
                guard blockRangeStart(decoder.timestamps[i]) != nil else { unstorable += 1; continue }
                // In-order samples older than the newest block are in that block.
                if !outOfOrder, decoder.timestamps[i] < minValidTime { continue }
                if outOfOrder {
                    _ = appendOutOfOrder(id, Sample(timestamp: decoder.timestamps[i], valueBits: decoder.values[i]))
                } else {
                    appendInOrder(id, decoder.timestamps[i], decoder.values[i])
                }
            }
        default:
            break
        }
        return unstorable
    }
}

extension Head {
    /// Creates the series of a WAL series record straight from its byte spans:
    /// strings are interned from the record, and only unseen ones become `String`s.
    func replaySeries(_ record: UnsafeRawBufferPointer) throws {
        var ids: [UInt32] = []
        var full: HeadIndexFullError?
        try WALRecord.forEachSeries(record) { ref, spans in
            guard full == nil, ref > lastRef else { return }
            let bytes = spans.reduce(0) { $0 + $1.name.len + $1.value.len }
            if let problem = indexProblem(newestRef: ref, newSeries: 1, labelPairs: spans.count, bytes: bytes) {
                full = HeadIndexFullError(ref: ref, reason: problem)
                return
            }
            ids.removeAll(keepingCapacity: true)
            for span in spans {
                ids.append(symbols.intern(bytes: UnsafeBufferPointer(start: span.name.ptr, count: span.name.len)))
                ids.append(symbols.intern(bytes: UnsafeBufferPointer(start: span.value.ptr, count: span.value.len)))
            }
            ids.withUnsafeBufferPointer { _ = createSeries(ref: ref, ids: $0) }
        }
        if let full { throw full }
    }
}

/// Logs replay progress (percent of WAL bytes and rate) every few seconds.
final class ReplayProgress {
    private let total: Int
    private var done = 0
    private var nextLog: Date
    private let started = Date()
    private let tenant: String
    private let logger: Logger

    init(directory: String, tenant: String, logger: Logger) {
        var bytes = 0
        if let names = try? FileManager.default.subpathsOfDirectory(atPath: directory) {
            for name in names {
                bytes += (try? FileManager.default.attributesOfItem(atPath: directory + "/" + name)[.size] as? Int) ?? 0
            }
        }
        total = bytes
        self.tenant = tenant
        self.logger = logger
        nextLog = started.addingTimeInterval(3)
    }

    func advance(_ bytes: Int) {
        done += bytes
        let now = Date()
        guard now >= nextLog, total > 0 else { return }
        nextLog = now.addingTimeInterval(3)
        let rate = Double(done) / now.timeIntervalSince(started) / 1e6
        logger.info(
            "replaying WAL",
            metadata: [
                "tenant": "\(tenant)", "progress": "\(min(100, done * 100 / total))%",
                "rate": "\(String(format: "%.1f", rate)) MB/s"
            ])
    }
}
