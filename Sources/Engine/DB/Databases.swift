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

    public init(dataDirectory: String, options: DatabaseOptions = DatabaseOptions(),
                limitOverrides: [String: TenantLimits] = [:],
                logger: Logger = Logger(label: "muninn.db")) throws {
        root = dataDirectory + "/tsdb"
        self.options = options
        self.limitOverrides = limitOverrides
        self.logger = logger
        try Files.makeDirectory(root)
        for name in try Files.list(root).sorted() {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root + "/" + name, isDirectory: &isDir), isDir.boolValue,
                  (try? TenantID.validate(name)) != nil else { continue }
            open[name] = try TenantDB.open(directory: root + "/" + name, tenant: name, options: tenantOptions(name), logger: logger)
        }
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

    /// The tenant's database, created (with its directory) if needed. Concurrent
    /// first writes of one tenant create it once; other tenants are not blocked.
    public func database(for tenant: String) throws -> TenantDB {
        try TenantID.validate(tenant)
        lock.lock()
        while true {
            if let db = open[tenant] { lock.unlock(); return db }
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
        if case .success(let db) = result { open[tenant] = db }
        lock.unlock()
        signal.lock(); signal.broadcast(); signal.unlock()
        return try result.get()
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
