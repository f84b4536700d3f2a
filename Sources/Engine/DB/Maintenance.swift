import Formats
import Foundation
import Logging

/// What one maintenance pass did, summed over tenants.
public struct MaintenanceReport: Sendable, Equatable {
    public var blocksWritten = 0
    public var blocksShipped = 0
    public var blocksDeleted = 0
    public var failures: [String] = []
}

extension Databases {
    /// One pass over every tenant: cut due blocks, flush idle heads, ship new
    /// blocks to `bucket` (when given) and delete expired shipped ones. A failure
    /// in one tenant is logged and reported; the others still run.
    public func maintain(bucket: (any ObjectStore)?, now: Date = Date()) -> MaintenanceReport {
        var report = MaintenanceReport()
        for tenant in tenants {
            guard let db = existing(tenant) else { continue }
            do {
                report.blocksWritten += try db.compact().count
                report.blocksWritten += try db.flushIfIdle(idleTimeout: options.idleFlushTimeout, now: now).count
                var shipped = Set<ULID>()
                if let bucket {
                    let shipper = try self.shipper(for: db, bucket: bucket)
                    report.blocksShipped += try shipper.sync().uploaded.count
                    shipped = shipper.shipped
                }
                report.blocksDeleted += try db.applyRetention(
                    options.retention, shipped: shipped,
                    now: Int64(now.timeIntervalSince1970 * 1000)
                ).count
            } catch {
                logger.error("maintenance failed", metadata: ["tenant": "\(tenant)", "error": "\(error)"])
                report.failures.append("\(tenant): \(error)")
            }
        }
        return report
    }

    /// Writes every tenant's whole head as blocks (flush endpoint, shutdown).
    @discardableResult
    public func flushAll() throws -> Int {
        var written = 0
        for tenant in tenants { written += try existing(tenant)?.flush().count ?? 0 }
        return written
    }
}
