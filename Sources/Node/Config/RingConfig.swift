import Cluster
import Foundation

extension NodeConfig {
    /// The `ring:` section. Its keys are the flag names (`--heartbeat-period`
    /// is `ring.heartbeat-period`), durations are strings like `15s`, `1m`,
    /// `500ms`. Without it (or with `store: inmemory`) the node is alone.
    struct Ring: Codable, Equatable, Sendable {
        /// `inmemory` (one node, the default) or `memberlist` (gossip).
        var store = "inmemory"
        /// Empty: the host name.
        var instanceID = ""
        var zone = ""
        /// Empty: the HTTP address and port; what others dial for this node's API.
        var advertiseAddress = ""
        var gossipPort = 7946
        /// Empty: the HTTP listen address.
        var gossipAddress = ""
        var join: [String] = []
        var heartbeatPeriod = "15s"
        var heartbeatTimeout = "1m"
        var autoForgetPeriods = 10
        var leaveTimeout = "5s"
        /// False keeps the entry (LEAVING) on SIGTERM, so a restart with the
        /// same ID takes its tokens back without moving series (Mimir's
        /// StatefulSet setting); `POST /ingester/shutdown` still removes it.
        var unregisterOnShutdown = true
        var observePeriod = "0s"
        var tombstoneRetention = "5m"
        var rejoinInterval = "1m"
        var gossipInterval = "200ms"
        var gossipNodes = 3
        var pushPullInterval = "30s"
        var numTokens = 128
        /// `random` or `spread-minimizing` (IDs must end in `-<N>`; set
        /// `spread-minimizing-zones` to every zone of the ring).
        var tokenGenerationStrategy = "random"
        var spreadMinimizingZones: [String] = []
        var replicationFactor = 3
        var maxGossipMessageBytes = 10 << 20
        /// Test-only: drops this share of outgoing gossip messages.
        var testDropRate = 0.0

        enum CodingKeys: String, CodingKey {
            case store
            case instanceID = "instance-id"
            case zone
            case advertiseAddress = "advertise-address"
            case gossipPort = "gossip-port"
            case gossipAddress = "gossip-address"
            case join
            case heartbeatPeriod = "heartbeat-period"
            case heartbeatTimeout = "heartbeat-timeout"
            case autoForgetPeriods = "auto-forget-periods"
            case leaveTimeout = "leave-timeout"
            case unregisterOnShutdown = "unregister-on-shutdown"
            case observePeriod = "observe-period"
            case tombstoneRetention = "tombstone-retention"
            case rejoinInterval = "rejoin-interval"
            case gossipInterval = "gossip-interval"
            case gossipNodes = "gossip-nodes"
            case pushPullInterval = "push-pull-interval"
            case numTokens = "num-tokens"
            case tokenGenerationStrategy = "token-generation-strategy"
            case spreadMinimizingZones = "spread-minimizing-zones"
            case replicationFactor = "replication-factor"
            case maxGossipMessageBytes = "max-gossip-message-bytes"
            case testDropRate = "test-drop-rate"
        }

        var gossiping: Bool { store == "memberlist" }

        func validate() throws {
            func fail(_ key: String, _ reason: String) -> ConfigError { ConfigError(file: "config", key: "ring." + key, reason: reason) }
            guard ["inmemory", "memberlist"].contains(store) else { throw fail("store", "must be inmemory or memberlist") }
            guard (1...65535).contains(gossipPort) else { throw fail("gossip-port", "must be 1-65535") }
            // Peers refuse gossip whose names break these bounds, and names are
            // compared byte for byte everywhere only if they are plain ASCII.
            if !instanceID.isEmpty, let reason = Self.nameProblem(instanceID, max: GossipCodec.maxNameBytes) {
                throw fail("instance-id", reason)
            }
            if !zone.isEmpty, let reason = Self.nameProblem(zone, max: GossipCodec.maxZoneBytes) { throw fail("zone", reason) }
            guard advertiseAddress.utf8.count <= GossipCodec.maxAddressBytes else { throw fail("advertise-address", "longer than 255 bytes") }
            for seed in join where GossipTransport.split(seed) == nil { throw fail("join", "\(seed) is not host:port") }
            if !advertiseAddress.isEmpty, GossipTransport.split(advertiseAddress) == nil {
                throw fail("advertise-address", "must be host:port")
            }
            for (key, value, minimum) in [
                ("heartbeat-period", heartbeatPeriod, 1), ("heartbeat-timeout", heartbeatTimeout, 1),
                ("leave-timeout", leaveTimeout, 0), ("observe-period", observePeriod, 0),
                ("tombstone-retention", tombstoneRetention, 0), ("rejoin-interval", rejoinInterval, 0),
                ("gossip-interval", gossipInterval, 1), ("push-pull-interval", pushPullInterval, 1)
            ] {
                guard let ms = Self.millis(value) else { throw fail(key, "not a duration like 500ms, 15s, 1m or 1h") }
                guard ms >= Int64(minimum) else { throw fail(key, minimum > 0 ? "must be positive" : "must not be negative") }
            }
            guard (0...1000).contains(autoForgetPeriods) else { throw fail("auto-forget-periods", "must be 0-1000") }
            guard (1...100).contains(gossipNodes) else { throw fail("gossip-nodes", "must be 1-100") }
            guard (1...GossipCodec.maxTokensPerInstance).contains(numTokens) else { throw fail("num-tokens", "must be 1-4096") }
            switch tokenGenerationStrategy {
            case "random": break
            case "spread-minimizing":
                do {
                    _ = try SpreadMinimizingTokenGenerator(instanceID: resolvedInstanceID, zone: zone, zones: tokenZones)
                } catch { throw fail("token-generation-strategy", "spread-minimizing: \(error)") }
            default: throw fail("token-generation-strategy", "must be random or spread-minimizing")
            }
            guard (1...15).contains(replicationFactor) else { throw fail("replication-factor", "must be 1-15") }
            guard (1024...(1 << 30)).contains(maxGossipMessageBytes) else { throw fail("max-gossip-message-bytes", "must be 1 KiB-1 GiB") }
            guard (0...1).contains(testDropRate) else { throw fail("test-drop-rate", "must be between 0 and 1") }
        }

        /// Why `name` cannot be an instance ID or zone: at most `max` bytes of
        /// letters, digits, `.`, `_`, `-` and `:`, starting with a letter or digit.
        static func nameProblem(_ name: String, max: Int) -> String? {
            guard name.utf8.count <= max else { return "longer than \(max) bytes" }
            let allowed = name.utf8.allSatisfy { c in
                (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2e || c == 0x5f || c == 0x2d || c == 0x3a
            }
            guard allowed, let first = name.utf8.first, first != 0x2e, first != 0x5f, first != 0x2d, first != 0x3a else {
                return "use letters, digits, '.', '_', '-' and ':' only, starting with a letter or digit"
            }
            return nil
        }

        /// `500ms`, `15s`, `1m`, `2h` (a plain number is seconds); nil when
        /// malformed or beyond a year.
        static func millis(_ text: String) -> Int64? {
            let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]
            for (suffix, scale) in units where text.hasSuffix(suffix) {
                guard let n = Int64(text.dropLast(suffix.count)), n >= 0, n <= 366 * 86_400_000 / scale else { return nil }
                return n * scale
            }
            guard let n = Int64(text), n >= 0, n <= 366 * 86_400 else { return nil }
            return n * 1000
        }

        func ms(_ text: String) -> Int64 { Self.millis(text) ?? 0 }

        /// The zones spread-minimizing tokens are planned for (this node's
        /// zone alone when the list is not given).
        var tokenZones: [String] { spreadMinimizingZones.isEmpty ? [zone] : spreadMinimizingZones }

        /// The instance ID, by default the host name (cut to what gossip allows).
        var resolvedInstanceID: String {
            guard instanceID.isEmpty else { return instanceID }
            let host = String(ProcessInfo.processInfo.hostName.utf8.prefix(GossipCodec.maxNameBytes)) ?? ""
            return Self.nameProblem(host, max: GossipCodec.maxNameBytes) == nil ? host : "muninn-\(getpid())"
        }
    }
}
