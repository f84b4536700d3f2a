import Engine
import Foundation
import Yams

/// Everything `muninn node` can be told, with the embedded single-node defaults.
/// Loaded from YAML (`--config`), then overridden by flags. Unknown keys and bad
/// values fail at start with a message naming the key.
struct NodeConfig: Codable, Equatable, Sendable {
    struct Server: Codable, Equatable, Sendable {
        var httpAddress = "0.0.0.0"
        var httpPort = 8080
        /// Largest accepted (compressed) request body.
        var maxRequestBytes = 16 * 1024 * 1024
        /// Largest remote-write body after snappy decoding.
        var maxDecodedBytes = 64 * 1024 * 1024
        /// How long shutdown waits for in-flight requests.
        var shutdownGraceSeconds = 30
    }

    struct Storage: Codable, Equatable, Sendable {
        var dataDir = "./data"
        var bucketDir = "./data/bucket"
        /// `always`, `never`, or a number of milliseconds between background fsyncs.
        var walFsync = "1000"
        var walCompression = "lz4"
        var blockRangeSeconds = 7200
        var retentionSeconds = 13 * 3600
        var idleFlushSeconds = 3600
        var shipping = true
        var flushOnShutdown = false
        var maintenanceIntervalSeconds = 60
    }

    struct Limits: Codable, Equatable, Sendable {
        var maxSeries = 2_000_000
        var maxSeriesPerMetric = 500_000
        var maxLabelNamesPerSeries = 30
        var maxLabelNameLength = 1024
        var maxLabelValueLength = 2048
        var ingestionRate = 10_000_000
        var ingestionBurst = 20_000_000
        var outOfOrderWindowSeconds = 0
        var creationGracePeriodSeconds = 600
    }

    /// Per-tenant replacements for some of `limits`; keys left out keep the
    /// global value.
    struct LimitsOverride: Codable, Equatable, Sendable {
        var maxSeries: Int?
        var maxSeriesPerMetric: Int?
        var maxLabelNamesPerSeries: Int?
        var maxLabelNameLength: Int?
        var maxLabelValueLength: Int?
        var ingestionRate: Int?
        var ingestionBurst: Int?
        var outOfOrderWindowSeconds: Int?
        var creationGracePeriodSeconds: Int?
    }

    var server = Server()
    var storage = Storage()
    var limits = Limits()
    /// Tenant ID → limits that differ from `limits` for that tenant.
    var overrides: [String: LimitsOverride] = [:]
    /// Off: every request is stored for the tenant `anonymous`.
    var multitenancy = true

    enum CodingKeys: String, CodingKey { case server, storage, limits, overrides, multitenancy }

    init() {}

    /// Reads YAML; every key is optional, unknown keys are errors.
    static func load(yaml: String, file: String) throws -> NodeConfig {
        do {
            let defaults = try Yams.load(yaml: try YAMLEncoder().encode(NodeConfig()))
            let given = try Yams.load(yaml: yaml)
            if given != nil, !(given is [String: Any]) {
                throw ConfigError(file: file, key: "", reason: "expected a mapping at the top level")
            }
            try checkKeys(given, path: "", against: defaults, file: file)
            // Keys left out keep their defaults.
            let merged = merge(defaults, given)
            return try YAMLDecoder().decode(NodeConfig.self, from: try Yams.dump(object: merged))
        } catch let error as ConfigError {
            throw error
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.dataCorrupted(context) {
            throw ConfigError(file: file, key: context.codingPath.map(\.stringValue).joined(separator: "."),
                              reason: context.debugDescription)
        } catch {
            throw ConfigError(file: file, key: "", reason: "\(error)")
        }
    }

    private static func merge(_ base: Any?, _ over: Any?) -> Any? {
        guard let b = base as? [String: Any], let o = over as? [String: Any] else { return over ?? base }
        var out = b
        for (k, v) in o { out[k] = merge(b[k], v) }
        return out
    }

    /// Unknown keys are the usual typo; name them instead of ignoring them.
    /// Under `overrides` the keys are tenant IDs, each holding keys of `limits`.
    private static func checkKeys(_ value: Any?, path: String, against defaults: Any?, file: String) throws {
        guard let map = value as? [String: Any] else { return }
        let known = defaults as? [String: Any] ?? [:]
        for (key, inner) in map {
            let full = path.isEmpty ? key : path + "." + key
            guard let expected = known[key] else {
                throw ConfigError(file: file, key: full, reason: "unknown key")
            }
            if full == "overrides" {
                guard let tenants = inner as? [String: Any] else {
                    throw ConfigError(file: file, key: full, reason: "expected a mapping of tenant IDs to limits")
                }
                for (tenant, limits) in tenants {
                    do { try TenantID.validate(tenant) } catch {
                        throw ConfigError(file: file, key: full + "." + tenant, reason: "invalid tenant ID: \(error)")
                    }
                    guard limits is [String: Any] else {
                        throw ConfigError(file: file, key: full + "." + tenant, reason: "expected a mapping of limits")
                    }
                    try checkKeys(limits, path: full + "." + tenant, against: known["limits"], file: file)
                }
                continue
            }
            try checkKeys(inner, path: full, against: expected, file: file)
        }
    }

    func yaml() throws -> String { try YAMLEncoder().encode(self) }

    /// Cross-field and range checks, naming the key.
    func validate() throws {
        func fail(_ key: String, _ reason: String) -> ConfigError { ConfigError(file: "config", key: key, reason: reason) }
        guard (1...65535).contains(server.httpPort) else { throw fail("server.httpPort", "must be 1-65535") }
        guard server.maxRequestBytes > 0 else { throw fail("server.maxRequestBytes", "must be positive") }
        guard server.maxDecodedBytes >= server.maxRequestBytes else {
            throw fail("server.maxDecodedBytes", "must be at least server.maxRequestBytes")
        }
        _ = try fsyncPolicy()
        guard WALCompression(rawValue: storage.walCompression) != nil else {
            throw fail("storage.walCompression", "must be none or lz4")
        }
        // Seconds become Int64 milliseconds: past Int64.max / 1000 the
        // conversion traps at start, so every duration is bounded here.
        try Self.seconds("server.shutdownGraceSeconds", server.shutdownGraceSeconds)
        try Self.seconds("storage.blockRangeSeconds", storage.blockRangeSeconds, 60...(366 * 86_400))
        try Self.seconds("storage.retentionSeconds", storage.retentionSeconds)
        try Self.seconds("storage.idleFlushSeconds", storage.idleFlushSeconds)
        // Zero or less would run maintenance back to back.
        try Self.seconds("storage.maintenanceIntervalSeconds", storage.maintenanceIntervalSeconds, 1...Self.maxSeconds)
        try Self.check(limits, "limits")
        for (tenant, o) in overrides {
            do { try TenantID.validate(tenant) } catch { throw fail("overrides.\(tenant)", "invalid tenant ID: \(error)") }
            try Self.check(limits.applying(o), "overrides.\(tenant)")
        }
    }

    private static let maxSeconds = Int(Int64.max / 1000)

    private static func seconds(_ key: String, _ value: Int, _ range: ClosedRange<Int> = 0...maxSeconds) throws {
        if value < range.lowerBound {
            throw ConfigError(file: "config", key: key,
                              reason: range.lowerBound == 0 ? "must not be negative" : "must be at least \(range.lowerBound)")
        }
        if value > range.upperBound { throw ConfigError(file: "config", key: key, reason: "must be at most \(range.upperBound) seconds") }
    }

    /// A negative count or rate would refuse every sample; durations as above.
    private static func check(_ l: Limits, _ prefix: String) throws {
        let counts = [("maxSeries", l.maxSeries), ("maxSeriesPerMetric", l.maxSeriesPerMetric),
                      ("maxLabelNamesPerSeries", l.maxLabelNamesPerSeries), ("maxLabelNameLength", l.maxLabelNameLength),
                      ("maxLabelValueLength", l.maxLabelValueLength), ("ingestionRate", l.ingestionRate),
                      ("ingestionBurst", l.ingestionBurst)]
        for (key, value) in counts where value < 0 {
            throw ConfigError(file: "config", key: "\(prefix).\(key)", reason: "must not be negative")
        }
        try seconds("\(prefix).outOfOrderWindowSeconds", l.outOfOrderWindowSeconds)
        try seconds("\(prefix).creationGracePeriodSeconds", l.creationGracePeriodSeconds)
    }

    func fsyncPolicy() throws -> FsyncPolicy {
        switch storage.walFsync {
        case "always": return .always
        case "never": return .never
        default:
            guard let ms = Int(storage.walFsync), ms > 0 else {
                throw ConfigError(file: "config", key: "storage.walFsync", reason: "must be always, never or milliseconds")
            }
            return .interval(milliseconds: ms)
        }
    }

    /// Each overridden tenant's complete limits.
    var limitOverrides: [String: TenantLimits] {
        overrides.mapValues { limits.applying($0).tenantLimits }
    }

    func databaseOptions() throws -> DatabaseOptions {
        DatabaseOptions(
            wal: WALOptions(compression: WALCompression(rawValue: storage.walCompression) ?? .lz4, fsync: try fsyncPolicy()),
            chunkRange: Int64(storage.blockRangeSeconds) * 1000,
            limits: limits.tenantLimits,
            idleFlushTimeout: TimeInterval(storage.idleFlushSeconds),
            retention: Retention(period: .seconds(storage.retentionSeconds), requireShipped: storage.shipping))
    }
}

extension NodeConfig.Limits {
    /// These limits with the override's keys replaced.
    func applying(_ o: NodeConfig.LimitsOverride) -> Self {
        var l = self
        l.maxSeries = o.maxSeries ?? l.maxSeries
        l.maxSeriesPerMetric = o.maxSeriesPerMetric ?? l.maxSeriesPerMetric
        l.maxLabelNamesPerSeries = o.maxLabelNamesPerSeries ?? l.maxLabelNamesPerSeries
        l.maxLabelNameLength = o.maxLabelNameLength ?? l.maxLabelNameLength
        l.maxLabelValueLength = o.maxLabelValueLength ?? l.maxLabelValueLength
        l.ingestionRate = o.ingestionRate ?? l.ingestionRate
        l.ingestionBurst = o.ingestionBurst ?? l.ingestionBurst
        l.outOfOrderWindowSeconds = o.outOfOrderWindowSeconds ?? l.outOfOrderWindowSeconds
        l.creationGracePeriodSeconds = o.creationGracePeriodSeconds ?? l.creationGracePeriodSeconds
        return l
    }

    var tenantLimits: TenantLimits {
        TenantLimits(
            maxSeries: maxSeries, maxSeriesPerMetric: maxSeriesPerMetric,
            maxLabelNamesPerSeries: maxLabelNamesPerSeries, maxLabelNameLength: maxLabelNameLength,
            maxLabelValueLength: maxLabelValueLength, ingestionRate: Double(ingestionRate),
            ingestionBurst: ingestionBurst, outOfOrderWindow: Int64(outOfOrderWindowSeconds) * 1000,
            creationGracePeriod: Int64(creationGracePeriodSeconds) * 1000)
    }
}

/// A configuration problem, naming the file and the key.
struct ConfigError: Error, CustomStringConvertible {
    var file: String
    var key: String
    var reason: String
    var description: String { key.isEmpty ? "\(file): \(reason)" : "\(file): \(key): \(reason)" }
}
