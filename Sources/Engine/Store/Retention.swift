import Formats
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Deletes a tenant's local blocks once they are old enough and safely in the
/// bucket.
///
/// A block is deleted when `now - maxTime >= period` and it is recorded as
/// shipped (`Shipper.shipped`); with `requireShipped = false` (no bucket
/// configured) age alone decides. Deletion is crash-safe as Prometheus does
/// it: the directory is renamed to `<ULID>.tmp-for-deletion` and the rename
/// made durable before anything is removed, so a crash leaves either the whole
/// block or a leftover that `sweepLeftovers` removes at the next start.
///
/// The caller makes sure nothing still reads a block it lets this delete
/// (open readers keep their open files on Linux, but cannot open new ones).
public struct Retention: Sendable, Equatable {
    /// Mimir's ingester default for `-blocks-storage.tsdb.retention-period`.
    public static let defaultPeriod: Duration = .seconds(13 * 3600)
    public static let deletionSuffix = ".tmp-for-deletion"
    /// Pre-2.21 Prometheus suffix for the same purpose; swept too.
    static let legacySuffix = ".tmp"

    public var period: Duration
    /// Delete only blocks recorded as shipped. Turn off only when shipping is disabled.
    public var requireShipped: Bool

    public init(period: Duration = Retention.defaultPeriod, requireShipped: Bool = true) {
        self.period = period
        self.requireShipped = requireShipped
    }

    /// The blocks of `tenantDirectory` past retention, oldest first (`delete`
    /// removes them); reads meta.json files and changes nothing.
    public func expired(
        tenantDirectory: String, now: Int64, shipped: Set<ULID>,
        logger: Logger = Logger(label: "muninn.retention")
    ) throws -> [BlockMeta] {
        let cutoff = now.saturatingSub(ShipperOptions.milliseconds(period))
        var expired: [BlockMeta] = []
        for name in try Files.list(tenantDirectory) {
            guard let ulid = ULID(name) else { continue }
            let directory = tenantDirectory + "/" + name
            guard Self.isDirectory(directory) else { continue }
            let meta: BlockMeta
            do {
                meta = try BlockMeta.read(directory: directory)
            } catch {
                logger.warning("keeping block with unreadable meta.json", metadata: ["block": "\(ulid)", "error": "\(error)"])
                continue
            }
            guard meta.maxTime <= cutoff else { continue }
            if requireShipped && !shipped.contains(ulid) {
                logger.debug("keeping expired block until it is shipped", metadata: ["block": "\(ulid)"])
                continue
            }
            expired.append(meta)
        }
        expired.sort { ($0.maxTime, $0.ulid) < ($1.maxTime, $1.ulid) }
        return expired
    }

    /// Deletes the blocks `expired` returned, in order.
    /// - Throws: the first deletion's I/O error; blocks before it stay deleted.
    public static func delete(
        _ expired: [BlockMeta], tenantDirectory: String,
        logger: Logger = Logger(label: "muninn.retention")
    ) throws {
        for meta in expired {
            try deleteBlock(tenantDirectory + "/" + meta.ulid.description)
            logger.info(
                "deleted block past retention",
                metadata: [
                    "block": "\(meta.ulid)", "minTime": "\(meta.minTime)", "maxTime": "\(meta.maxTime)"
                ])
        }
    }

    /// Removes what interrupted work left in a tenant directory: block
    /// directories being written (`.tmp-for-creation`) or deleted
    /// (`.tmp-for-deletion`, legacy `.tmp`) and temporary files such as the
    /// shipper's `mimir.shipper.json.tmp`. Returns the names removed. Only for
    /// when nothing writes there (the database runs it when it opens); a tenant
    /// ID cannot end in these suffixes, so nothing else matches.
    /// - Throws: the I/O error of listing or removing.
    @discardableResult
    public static func sweepLeftovers(
        tenantDirectory: String,
        logger: Logger = Logger(label: "muninn.retention")
    ) throws -> [String] {
        var removed: [String] = []
        for name in try Files.list(tenantDirectory).sorted()
        where [BlockWriter.temporarySuffix, deletionSuffix, legacySuffix].contains(where: { name.hasSuffix($0) }) {
            try Files.remove(tenantDirectory + "/" + name)
            removed.append(name)
            logger.info("removed a leftover of interrupted work", metadata: ["entry": "\(name)"])
        }
        if !removed.isEmpty { try Files.syncDirectory(tenantDirectory) }
        return removed
    }

    /// Renames the block out of the way, makes that durable, then removes it.
    static func deleteBlock(_ directory: String) throws {
        let parent = (directory as NSString).deletingLastPathComponent
        let doomed = directory + deletionSuffix
        try Files.remove(doomed)
        try Files.renameDurably(directory, to: doomed)
        try Files.remove(doomed)
        try Files.syncDirectory(parent)
    }

    private static func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }
}
