import Formats
import Foundation
import Logging

/// Every tenant's database under `<data>/tsdb/`. A tenant's database is created
/// on its first write; opening reopens (and replays) every tenant found on disk.
public final class Databases: @unchecked Sendable {
    public let root: String
    public let options: DatabaseOptions
    /// Per-tenant limits that replace `options.limits` for those tenants.
    public let limitOverrides: [String: TenantLimits]
    let logger: Logger
    private var shippers: [String: Shipper] = [:]
    private let lock = NSLock()
    private var open: [String: TenantDB] = [:]
    private var creating: [String: NSCondition] = [:]
    /// Tenants whose database failed to open, and when it may be tried again.
    private var failed: [String: Date] = [:]
    private var failures = 0
    /// How long a tenant that failed to open is answered unavailable before a
    /// request tries again: a broken tenant must not replay its WAL per request.
    public let openRetryInterval: TimeInterval

    /// Opens every tenant found under `<dataDirectory>/tsdb`. A tenant that fails
    /// to open is logged and counted, and the others still open; requests for it
    /// get `TenantUnavailableError` until a retry succeeds.
    public init(
        dataDirectory: String, options: DatabaseOptions = DatabaseOptions(),
        limitOverrides: [String: TenantLimits] = [:], openRetryInterval: TimeInterval = 10,
        logger: Logger = Logger(label: "muninn.db")
    ) throws {
        root = dataDirectory + "/tsdb"
        self.options = options
        self.limitOverrides = limitOverrides
        self.openRetryInterval = openRetryInterval
        self.logger = logger
        try Files.makeDirectory(root)
        for name in try Files.list(root).sorted() {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root + "/" + name, isDirectory: &isDir), isDir.boolValue else { continue }
            do {
                try TenantID.validate(name)
            } catch {
                logger.warning("ignoring directory that is not a valid tenant ID", metadata: ["directory": "\(name)", "reason": "\(error)"])
                continue
            }
            do {
                open[name] = try TenantDB.open(directory: root + "/" + name, tenant: name, options: tenantOptions(name), logger: logger)
            } catch {
                recordFailure(name, error)
            }
        }
    }

    /// Tenants whose database failed to open and has not opened since, sorted.
    public var unavailableTenants: [String] {
        lock.lock(); defer { lock.unlock() }
        return failed.keys.sorted()
    }

    /// Failed opens since start (each retry that fails counts).
    public var openFailures: Int {
        lock.lock(); defer { lock.unlock() }
        return failures
    }

    /// Caller holds `lock` or is the initializer.
    private func recordFailure(_ tenant: String, _ error: any Error) {
        failed[tenant] = Date().addingTimeInterval(openRetryInterval)
        failures += 1
        logger.error(
            "tenant database failed to open; its requests get 503 until a retry succeeds",
            metadata: [
                "tenant": "\(tenant)", "error": "\(error)", "retry_after": "\(openRetryInterval)s"
            ])
    }

    /// The options a tenant's database opens with: the shared ones, with the
    /// tenant's limits when it has an override.
    public func tenantOptions(_ tenant: String) -> DatabaseOptions {
        var o = options
        if let limits = limitOverrides[tenant] { o.limits = limits }
        return o
    }

    /// Tenants with a database, sorted.
    public var tenants: [String] {
        lock.lock(); defer { lock.unlock() }
        return open.keys.sorted()
    }

    /// The tenant's database, or nil when it has none yet.
    public func existing(_ tenant: String) -> TenantDB? {
        lock.lock(); defer { lock.unlock() }
        return open[tenant]
    }

    /// The tenant's database for a read, or nil when it has none. A tenant that
    /// failed to open is retried (at most once per `openRetryInterval`).
    /// - Throws: `TenantUnavailableError` while it still does not open.
    public func readable(_ tenant: String) throws -> TenantDB? {
        lock.lock()
        let db = open[tenant], broken = failed[tenant] != nil
        lock.unlock()
        if let db { return db }
        return broken ? try database(for: tenant) : nil
    }

    /// The tenant's database, created (with its directory) if needed. Concurrent
    /// first writes of one tenant create it once; other tenants are not blocked.
    /// - Throws: `TenantUnavailableError` when the database does not open (the
    ///   cause is logged); the next try waits `openRetryInterval`.
    public func database(for tenant: String) throws -> TenantDB {
        try TenantID.validate(tenant)
        lock.lock()
        while true {
            if let db = open[tenant] { lock.unlock(); return db }
            if let retryAt = failed[tenant], retryAt > Date() {
                lock.unlock()
                throw TenantUnavailableError(tenant: tenant)
            }
            guard let waiting = creating[tenant] else { break }
            lock.unlock()
            waiting.lock(); _ = waiting.wait(until: Date().addingTimeInterval(0.05)); waiting.unlock()
            lock.lock()
        }
        let signal = NSCondition()
        creating[tenant] = signal
        lock.unlock()
        let result = Result { try TenantDB.open(directory: root + "/" + tenant, tenant: tenant, options: tenantOptions(tenant), logger: logger) }
        lock.lock()
        creating[tenant] = nil
        switch result {
        case .success(let db):
            open[tenant] = db
            if failed.removeValue(forKey: tenant) != nil {
                logger.info("tenant database opened after earlier failures", metadata: ["tenant": "\(tenant)"])
            }
        case .failure(let error):
            recordFailure(tenant, error)
        }
        lock.unlock()
        signal.lock(); signal.broadcast(); signal.unlock()
        guard case .success(let db) = result else { throw TenantUnavailableError(tenant: tenant) }
        return db
    }

    /// The tenant's shipper, created on first use (it reads its state file then).
    func shipper(for db: TenantDB, bucket: any ObjectStore) throws -> Shipper {
        lock.lock(); defer { lock.unlock() }
        if let s = shippers[db.tenant] { return s }
        let s = try Shipper(tenant: db.tenant, tenantDirectory: db.directory, bucket: bucket, logger: logger)
        shippers[db.tenant] = s
        return s
    }

    /// The tenant's shipper counters, once it has shipped (or tried).
    public func shipperStats(_ tenant: String) -> ShipperStats? {
        lock.lock(); defer { lock.unlock() }
        return shippers[tenant]?.stats
    }

    /// Closes every tenant's logs.
    public func close() throws {
        lock.lock()
        let all = Array(open.values)
        lock.unlock()
        for db in all { try db.close() }
    }
}

/// The tenant's database could not be opened (the cause is in the log; the
/// message leaves out paths). Retryable: a later request tries the open again.
public struct TenantUnavailableError: Error, Sendable, Equatable, CustomStringConvertible {
    public var tenant: String
    public var description: String {
        "the database of tenant \(tenant) failed to open (see the node log); requests are retried"
    }
}
