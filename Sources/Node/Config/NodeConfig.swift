import Engine
import Formats
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
        /// How long shutdown waits for in-flight requests and the storage to
        /// close before the process is cancelled.
        var shutdownGraceSeconds = 30
        /// A keep-alive connection with no request for this long is closed; so
        /// is one whose request head does not arrive completely in this time.
        var idleTimeoutSeconds = 120
        /// Longest time to receive one request body (slow clients get 408).
        var readTimeoutSeconds = 60
        /// Open connections beyond this wait to be accepted.
        var maxConnections = 1024
        /// Empty: the admin endpoints (`/ingester/*`) answer loopback clients
        /// only. Set: every caller needs `Authorization: Bearer <adminToken>`.
        var adminToken = ""
        var tls = TLS()
    }

    /// HTTPS when both files are given (PEM certificate chain and private key).
    struct TLS: Codable, Equatable, Sendable {
        var certFile = ""
        var keyFile = ""
    }

    /// Node-wide limits (Mimir's ingester instance limits); 0 disables one.
    /// Requests over them get a retryable 503.
    struct InstanceLimits: Codable, Equatable, Sendable {
        var maxInflightPushRequests = 256
        /// Compressed bytes of push bodies being handled at once.
        var maxInflightPushBytes = 512 * 1024 * 1024
        var maxTenants = 1000
        var maxSeries = 10_000_000
        /// Samples per second over all tenants.
        var maxIngestionRate = 0
    }

    struct Auth: Codable, Equatable, Sendable {
        /// Empty: tenants are not authenticated. Else a YAML file of tenant
        /// credentials (see README, "Authentication").
        var tenantsFile = ""
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

    /// Per-tenant limits by YAML key (`LimitKey.all`). `limits` holds every
    /// key, by default `TenantLimits()`'s values; an entry of `overrides` holds
    /// only the keys it replaces (the others keep the global value).
    struct Limits: Codable, Equatable, Sendable {
        private var values: [String: Int] = [:]

        init(_ limits: TenantLimits = TenantLimits()) {
            for key in LimitKey.all { values[key.name] = key.get(limits) }
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: LimitKey.Name.self)
            for key in LimitKey.all {
                if let value = try container.decodeIfPresent(Int.self, forKey: LimitKey.Name(key.name)) {
                    values[key.name] = value
                }
            }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: LimitKey.Name.self)
            for key in LimitKey.all {
                if let value = values[key.name] { try container.encode(value, forKey: LimitKey.Name(key.name)) }
            }
        }

        subscript(_ name: String) -> Int? { values[name] }
    }

    /// Per-request bounds of remote read and the JSON series/label APIs.
    struct Read: Codable, Equatable, Sendable {
        var maxQueries = 16
        /// Series per remote-read response, and per `/api/v1/series` answer.
        var maxSeries = 100_000
        /// Samples per SAMPLES response (Prometheus's `remote_read_sample_limit`).
        var maxSamples = 50_000_000
        /// Uncompressed bytes per SAMPLES response; at most 4294967295 (snappy's block limit).
        var maxResponseBytes = 1 << 30
        /// Bytes per STREAMED_XOR_CHUNKS frame (Prometheus's `remote_read_max_bytes_in_frame`).
        var maxBytesInFrame = 1_048_576
        /// Values per `/api/v1/labels` and `/api/v1/label/<name>/values` answer.
        var maxLabelValues = 100_000
        var timeoutSeconds = 120
    }

    var server = Server()
    var storage = Storage()
    var limits = Limits()
    var instanceLimits = InstanceLimits()
    var auth = Auth()
    var read = Read()
    var ring = Ring()
    /// Tenant ID → limits that differ from `limits` for that tenant.
    var overrides: [String: Limits] = [:]
    /// Off: every request is stored for the tenant `anonymous`.
    var multitenancy = true

    enum CodingKeys: String, CodingKey { case server, storage, limits, instanceLimits, auth, read, ring, overrides, multitenancy }

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
            throw ConfigError(
                file: file, key: context.codingPath.map(\.stringValue).joined(separator: "."),
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
        func positive(_ key: String, _ value: Int) throws { guard value > 0 else { throw fail(key, "must be positive") } }
        func nonNegative(_ key: String, _ value: Int) throws { guard value >= 0 else { throw fail(key, "must not be negative") } }
        guard (1...65535).contains(server.httpPort) else { throw fail("server.httpPort", "must be 1-65535") }
        try positive("server.maxRequestBytes", server.maxRequestBytes)
        guard server.maxDecodedBytes >= server.maxRequestBytes else {
            throw fail("server.maxDecodedBytes", "must be at least server.maxRequestBytes")
        }
        // Bodies are held in one buffer; snappy's own limit is 4 GiB.
        guard server.maxDecodedBytes <= 1 << 31 else { throw fail("server.maxDecodedBytes", "must be at most 2 GiB") }
        try positive("server.shutdownGraceSeconds", server.shutdownGraceSeconds)
        try positive("server.idleTimeoutSeconds", server.idleTimeoutSeconds)
        try positive("server.readTimeoutSeconds", server.readTimeoutSeconds)
        try positive("server.maxConnections", server.maxConnections)
        if server.tls.certFile.isEmpty != server.tls.keyFile.isEmpty {
            throw fail(server.tls.certFile.isEmpty ? "server.tls.certFile" : "server.tls.keyFile", "set both certFile and keyFile, or neither")
        }
        _ = try fsyncPolicy()
        guard WALCompression(rawValue: storage.walCompression) != nil else {
            throw fail("storage.walCompression", "must be none or lz4")
        }
        guard storage.blockRangeSeconds >= 60 else { throw fail("storage.blockRangeSeconds", "must be at least 60") }
        guard storage.blockRangeSeconds <= 366 * 86_400 else { throw fail("storage.blockRangeSeconds", "must be at most a year") }
        try nonNegative("storage.retentionSeconds", storage.retentionSeconds)
        try positive("storage.idleFlushSeconds", storage.idleFlushSeconds)
        try positive("storage.maintenanceIntervalSeconds", storage.maintenanceIntervalSeconds)
        for (key, value) in [
            ("maxInflightPushRequests", instanceLimits.maxInflightPushRequests),
            ("maxInflightPushBytes", instanceLimits.maxInflightPushBytes),
            ("maxTenants", instanceLimits.maxTenants), ("maxSeries", instanceLimits.maxSeries),
            ("maxIngestionRate", instanceLimits.maxIngestionRate)
        ] {
            try nonNegative("instanceLimits." + key, value)
        }
        try limits.validate(prefix: "limits")
        try read.validate()
        try ring.validate()
        for (tenant, o) in overrides {
            do { try TenantID.validate(tenant) } catch { throw fail("overrides.\(tenant)", "invalid tenant ID: \(error)") }
            try limits.applying(o).validate(prefix: "overrides.\(tenant)")
        }
        _ = try databaseOptions()
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
            chunkRange: try milliseconds(storage.blockRangeSeconds, "storage.blockRangeSeconds"),
            limits: limits.tenantLimits,
            idleFlushTimeout: TimeInterval(storage.idleFlushSeconds),
            retention: Retention(period: .seconds(storage.retentionSeconds), requireShipped: storage.shipping))
    }
}

/// Seconds from a configuration value as milliseconds, or an error naming the
/// key when the product does not fit.
func milliseconds(_ seconds: Int, _ key: String) throws -> Int64 {
    let (ms, overflow) = Int64(seconds).multipliedReportingOverflow(by: 1000)
    guard !overflow else { throw ConfigError(file: "config", key: key, reason: "\(seconds) seconds is out of range") }
    return ms
}

/// One key of the `limits` section and the `TenantLimits` field it sets: the
/// config's only list of limit keys (TenantLimits holds the defaults).
struct LimitKey: Sendable {
    let name: String
    let get: @Sendable (TenantLimits) -> Int
    let set: @Sendable (inout TenantLimits, Int) -> Void

    static let all: [LimitKey] = [
        LimitKey(name: "maxSeries", get: { $0.maxSeries }, set: { $0.maxSeries = $1 }),
        LimitKey(name: "maxSeriesPerMetric", get: { $0.maxSeriesPerMetric }, set: { $0.maxSeriesPerMetric = $1 }),
        LimitKey(name: "maxLabelNamesPerSeries", get: { $0.maxLabelNamesPerSeries }, set: { $0.maxLabelNamesPerSeries = $1 }),
        LimitKey(name: "maxLabelNameLength", get: { $0.maxLabelNameLength }, set: { $0.maxLabelNameLength = $1 }),
        LimitKey(name: "maxLabelValueLength", get: { $0.maxLabelValueLength }, set: { $0.maxLabelValueLength = $1 }),
        LimitKey(name: "ingestionRate", get: { Int($0.ingestionRate) }, set: { $0.ingestionRate = Double($1) }),
        LimitKey(name: "ingestionBurst", get: { $0.ingestionBurst }, set: { $0.ingestionBurst = $1 }),
        LimitKey(name: "outOfOrderWindowSeconds", get: { seconds($0.outOfOrderWindow) }, set: { $0.outOfOrderWindow = ms($1) }),
        LimitKey(
            name: "creationGracePeriodSeconds", get: { seconds($0.creationGracePeriod) },
            set: { $0.creationGracePeriod = ms($1) }),
        LimitKey(name: "pastGracePeriodSeconds", get: { seconds($0.pastGracePeriod) }, set: { $0.pastGracePeriod = ms($1) })
    ]

    struct Name: CodingKey {
        let stringValue: String
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    private static func seconds(_ ms: Int64) -> Int { Int(ms / 1000) }
    /// Validation bounds these keys far below overflow; saturate all the same.
    private static func ms(_ seconds: Int) -> Int64 {
        let (ms, overflow) = Int64(seconds).multipliedReportingOverflow(by: 1000)
        return overflow ? (seconds < 0 ? .min : .max) : ms
    }
}

extension NodeConfig.Limits {
    /// Range checks of every limit, naming the key under `prefix`.
    func validate(prefix: String) throws {
        for key in LimitKey.all where (self[key.name] ?? 0) < 0 {
            throw ConfigError(file: "config", key: prefix + "." + key.name, reason: "must not be negative")
        }
        // A year: far past any use, and the millisecond arithmetic stays far from overflow.
        for key in ["outOfOrderWindowSeconds", "creationGracePeriodSeconds"] where (self[key] ?? 0) > 366 * 86_400 {
            throw ConfigError(file: "config", key: prefix + "." + key, reason: "must be at most a year (31622400)")
        }
        if (self["pastGracePeriodSeconds"] ?? 0) > 100 * 366 * 86_400 {
            throw ConfigError(file: "config", key: prefix + ".pastGracePeriodSeconds", reason: "must be at most a century (0 turns it off)")
        }
        if (self["ingestionRate"] ?? 0) > 0, (self["ingestionBurst"] ?? 0) < 1 {
            throw ConfigError(file: "config", key: prefix + ".ingestionBurst", reason: "must be positive when ingestionRate is set")
        }
    }

    /// These limits with the override's keys replaced.
    func applying(_ override: Self) -> Self {
        var merged = self
        merged.values.merge(override.values) { _, new in new }
        return merged
    }

    /// The limits as the engine takes them; keys not set keep `TenantLimits()`'s value.
    var tenantLimits: TenantLimits {
        var limits = TenantLimits()
        for key in LimitKey.all {
            if let value = self[key.name] { key.set(&limits, value) }
        }
        return limits
    }
}

extension NodeConfig.Read {
    fileprivate func validate() throws {
        let keys: [(String, Int)] = [
            ("maxQueries", maxQueries), ("maxSeries", maxSeries), ("maxSamples", maxSamples),
            ("maxResponseBytes", maxResponseBytes), ("maxBytesInFrame", maxBytesInFrame),
            ("maxLabelValues", maxLabelValues), ("timeoutSeconds", timeoutSeconds)
        ]
        for (key, value) in keys where value <= 0 {
            throw ConfigError(file: "config", key: "read." + key, reason: "must be a positive integer")
        }
        guard maxResponseBytes <= RemoteRead.maxSampledBytes else {
            throw ConfigError(
                file: "config", key: "read.maxResponseBytes",
                reason: "must be at most \(RemoteRead.maxSampledBytes) (a snappy block's limit)")
        }
    }

    var remoteReadLimits: RemoteReadLimits {
        RemoteReadLimits(
            maxQueries: maxQueries, maxSeries: maxSeries, maxSamples: maxSamples,
            maxResponseBytes: maxResponseBytes, maxBytesInFrame: maxBytesInFrame,
            timeout: .seconds(timeoutSeconds))
    }
}

/// A configuration problem, naming the file and the key.
struct ConfigError: Error, CustomStringConvertible {
    var file: String
    var key: String
    var reason: String
    var description: String { key.isEmpty ? "\(file): \(reason)" : "\(file): \(key): \(reason)" }
}
