import ArgumentParser
import Engine
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle

/// `muninn node`: a single ingester node on the embedded defaults (HTTP on
/// 8080, data in ./data, filesystem bucket in ./data/bucket).
struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "node", abstract: "Run an ingester node.")

    @Option(help: "YAML configuration file.") var config: String?
    @Option(help: "HTTP port.") var httpPort: Int?
    @Option(help: "HTTP listen address.") var httpAddress: String?
    @Option(help: "Data directory.") var dataDir: String?
    @Option(help: "Filesystem bucket directory.") var bucketDir: String?
    @Option(help: "WAL fsync: always, never, or milliseconds between fsyncs.") var walFsync: String?
    @Flag(help: "Store everything for the tenant `anonymous`, ignoring X-Scope-OrgID.") var noMultitenancy = false
    @Flag(help: "Print the effective configuration and exit.") var printConfig = false
    @Option(help: "Log level: trace, debug, info, warning, error.") var logLevel: String = "info"
    @OptionGroup(title: "Ring and gossip (YAML: the ring: section, same names)") var ring: RingOptions

    func effectiveConfig() throws -> NodeConfig {
        var c = NodeConfig()
        if let config {
            guard let text = try? String(contentsOfFile: config, encoding: .utf8) else {
                throw CLIFailure("\(config): cannot read configuration file")
            }
            c = try NodeConfig.load(yaml: text, file: config)
        }
        if let httpPort { c.server.httpPort = httpPort }
        if let httpAddress { c.server.httpAddress = httpAddress }
        if let dataDir {
            c.storage.dataDir = dataDir
            if bucketDir == nil, config == nil { c.storage.bucketDir = dataDir + "/bucket" }
        }
        if let bucketDir { c.storage.bucketDir = bucketDir }
        if let walFsync { c.storage.walFsync = walFsync }
        if noMultitenancy { c.multitenancy = false }
        ring.apply(to: &c.ring)
        try c.validate()
        return c
    }

    func run() async throws {
        let config: NodeConfig
        do { config = try effectiveConfig() } catch let error as ConfigError { throw CLIFailure("bad configuration: \(error)") }
        let credentials: TenantCredentials?
        do {
            credentials = config.auth.tenantsFile.isEmpty ? nil : try TenantCredentials.load(path: config.auth.tenantsFile)
        } catch let error as ConfigError { throw CLIFailure("bad configuration: \(error)") }
        if printConfig {
            print(try config.yaml(), terminator: "")
            return
        }
        guard let level = Logger.Level(rawValue: logLevel) else { throw CLIFailure("unknown log level \(logLevel)") }
        LoggingSystem.bootstrap { label in
            var handler = LogfmtHandler(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "muninn")
        StandardStream.ignoreBrokenPipes()
        let state = NodeState(config: config, metrics: NodeMetrics(), logger: logger, credentials: credentials)
        let app = Application(
            router: Routes.build(state),
            server: try serverBuilder(config.server),
            configuration: .init(
                address: .hostname(config.server.httpAddress, port: config.server.httpPort),
                serverName: "muninn/\(Muninn.version)",
                availableConnectionsDelegate: MaximumAvailableConnections(config.server.maxConnections, logger: logger)),
            logger: logger)
        var groupConfig = ServiceGroupConfiguration(
            services: [
                .init(service: GossipService(membership: state.cluster, logger: logger)),
                .init(service: LifecyclerService(membership: state.cluster, state: state)),
                .init(service: StorageService(state: state)),
                .init(service: MaintenanceService(state: state)),
                .init(service: app),
                .init(service: ShutdownRequestService(state: state), successTerminationBehavior: .gracefullyShutdownGroup),
                .init(service: AdmissionService(state: state))
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        // Past the grace period the services are cancelled: the storage still
        // closes its logs (cancellation is not a crash), in-flight requests end.
        groupConfig.maximumGracefulShutdownDuration = .seconds(config.server.shutdownGraceSeconds)
        let group = ServiceGroup(configuration: groupConfig)
        try await group.run()
    }
}

extension NodeCommand {
    /// HTTP/1.1 with the idle timeout, over TLS when a certificate is configured.
    func serverBuilder(_ server: NodeConfig.Server) throws -> HTTPServerBuilder {
        let http = HTTPServerBuilder.http1(configuration: .init(idleTimeout: .seconds(Int64(server.idleTimeoutSeconds))))
        guard !server.tls.certFile.isEmpty else { return http }
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(server.tls.certFile).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: server.tls.keyFile, format: .pem)
            let tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
            return try .tls(http, tlsConfiguration: tls)
        } catch {
            throw CLIFailure("bad configuration: server.tls: cannot load \(server.tls.certFile) / \(server.tls.keyFile): \(error)")
        }
    }
}
