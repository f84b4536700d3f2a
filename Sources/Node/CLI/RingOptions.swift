import ArgumentParser

/// The ring flags of `muninn node`; each overrides the `ring:` key of the
/// same name in the YAML configuration.
struct RingOptions: ParsableArguments {
    @Option(name: .customLong("ring.store"), help: "Where the ring lives: inmemory (one node) or memberlist (gossip).")
    var store: String?
    @Option(help: "This instance's ID in the ring (default: the host name).") var instanceID: String?
    @Option(help: "Availability zone; set on every node for zone-aware replication.") var zone: String?
    @Option(help: "host:port others reach this node's HTTP API at (default: HTTP address and port).") var advertiseAddress: String?
    @Option(help: "Gossip TCP port.") var gossipPort: Int?
    @Option(help: "Gossip listen address (default: the HTTP listen address).") var gossipAddress: String?
    @Option(help: "Gossip seeds, host:port[,host:port...].") var join: String?
    @Option(help: "Interval between heartbeats, e.g. 15s.") var heartbeatPeriod: String?
    @Option(help: "An entry whose heartbeat is older is UNHEALTHY, e.g. 1m.") var heartbeatTimeout: String?
    @Option(help: "Peers forget an instance UNHEALTHY for this many heartbeat timeouts (0: never).") var autoForgetPeriods: Int?
    @Option(help: "How long a stopping node waits for peers to confirm its removal, e.g. 5s.") var leaveTimeout: String?
    @Option(help: "true: leave the ring on SIGTERM; false: stay LEAVING for a restart with the same ID.")
    var unregisterOnShutdown: Bool?
    @Option(help: "Time spent JOINING watching for token conflicts, e.g. 1s.") var observePeriod: String?
    @Option(help: "How long removed instances' tombstones are gossiped before they become graves.") var tombstoneRetention: String?
    @Option(help: "Interval between asking the seeds again (0s: only when alone).") var rejoinInterval: String?
    @Option(help: "Interval between gossip rounds, e.g. 200ms.") var gossipInterval: String?
    @Option(help: "Members each gossip round sends changes to.") var gossipNodes: Int?
    @Option(help: "Interval between full-state exchanges with a random member.") var pushPullInterval: String?
    @Option(help: "Tokens per instance.") var numTokens: Int?
    @Option(help: "Replicas per series (for quorum checks).") var replicationFactor: Int?
    @Option(help: "random, or spread-minimizing (IDs ending in -<N>).") var tokenGenerationStrategy: String?
    @Option(help: "Every zone of the ring, for spread-minimizing tokens: a,b,c.") var spreadMinimizingZones: String?
    @Option(help: .hidden) var testDropRate: Double?

    func apply(to ring: inout NodeConfig.Ring) {
        if let store { ring.store = store }
        if let instanceID { ring.instanceID = instanceID }
        if let zone { ring.zone = zone }
        if let advertiseAddress { ring.advertiseAddress = advertiseAddress }
        if let gossipPort { ring.gossipPort = gossipPort }
        if let gossipAddress { ring.gossipAddress = gossipAddress }
        if let join { ring.join = join.split(separator: ",").map { String($0) }.filter { !$0.isEmpty } }
        if let heartbeatPeriod { ring.heartbeatPeriod = heartbeatPeriod }
        if let heartbeatTimeout { ring.heartbeatTimeout = heartbeatTimeout }
        if let autoForgetPeriods { ring.autoForgetPeriods = autoForgetPeriods }
        if let leaveTimeout { ring.leaveTimeout = leaveTimeout }
        if let observePeriod { ring.observePeriod = observePeriod }
        if let unregisterOnShutdown { ring.unregisterOnShutdown = unregisterOnShutdown }
        if let tombstoneRetention { ring.tombstoneRetention = tombstoneRetention }
        if let rejoinInterval { ring.rejoinInterval = rejoinInterval }
        if let gossipInterval { ring.gossipInterval = gossipInterval }
        if let gossipNodes { ring.gossipNodes = gossipNodes }
        if let pushPullInterval { ring.pushPullInterval = pushPullInterval }
        if let numTokens { ring.numTokens = numTokens }
        if let replicationFactor { ring.replicationFactor = replicationFactor }
        if let tokenGenerationStrategy { ring.tokenGenerationStrategy = tokenGenerationStrategy }
        if let spreadMinimizingZones { ring.spreadMinimizingZones = spreadMinimizingZones.split(separator: ",").map(String.init) }
        if let testDropRate { ring.testDropRate = testDropRate }
    }
}
