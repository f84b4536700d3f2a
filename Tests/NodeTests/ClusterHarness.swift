import Cluster
import Foundation
import TestSupport
import Testing

/// One instance of a test ring: a `muninn node` process with its own HTTP
/// port, gossip port and data directory, kept across restarts so that a
/// restarted node is the same instance (same ID, same tokens file).
final class RingMember: @unchecked Sendable {
    let id: String
    let dataDir: String
    let httpPort: Int
    let gossipPort: Int
    private(set) var process: ChildProcess?
    /// One log per start, so a restart does not overwrite what came before.
    private(set) var logs: [URL] = []

    init(id: String, root: String) {
        self.id = id
        dataDir = root + "/" + id
        httpPort = freePort()
        gossipPort = freePort()
    }

    var gossipAddress: String { "127.0.0.1:\(gossipPort)" }
    var baseURL: String { "http://127.0.0.1:\(httpPort)" }
    var isRunning: Bool { process?.process.isRunning ?? false }

    func launch(_ arguments: [String]) throws {
        let log = URL(fileURLWithPath: "\(dataDir)-\(logs.count).log")
        logs.append(log)
        process = try Subprocess.start(
            muninnBinary().path,
            [
                "node", "--http-address", "127.0.0.1", "--http-port", String(httpPort), "--data-dir", dataDir,
                "--ring.store", "memberlist", "--instance-id", id, "--gossip-port", String(gossipPort)
            ] + arguments,
            output: .file(log))
    }

    /// Sends `signal` without waiting (SIGSTOP and SIGCONT freeze and thaw).
    func signal(_ signal: Int32) {
        if let process, process.process.isRunning { kill(process.pid, signal) }
    }

    /// Every start's output, oldest first.
    var output: String {
        logs.map { (try? String(contentsOf: $0, encoding: .utf8)) ?? "" }.joined(separator: "\n--- restart ---\n")
    }
}

/// What one node's `GET /ingester/ring` (JSON) says about one instance.
struct RingShard: Decodable, Equatable {
    var id: String
    var state: String
    var tokens: [UInt32]?
}

/// N `muninn node` processes forming a ring by gossip on loopback, with the
/// fast timings the tests need; every process is killed when it goes away.
final class TestRing: @unchecked Sendable {
    /// How nodes find the ring.
    enum Seeds {
        /// Every node is given the first node's gossip address only.
        case first
        /// Every node is given every node's address (a headless service's
        /// DNS name in Kubernetes): a restarted seed finds the others too.
        case all
    }

    let members: [RingMember]
    let flags: [String]

    /// `flags` are appended to the defaults, so a test overrides one by
    /// passing it again (the last occurrence wins).
    init(_ name: String, size: Int, seeds: Seeds = .first, flags: [String] = []) {
        let root = Scratch.directory("ring-\(name)").path
        members = (1...size).map { RingMember(id: "n\($0)", root: root) }
        let join =
            switch seeds {
            case .first: members[0].gossipAddress
            case .all: members.map(\.gossipAddress).joined(separator: ",")
            }
        self.flags = ["--join", join] + Self.fastTimings + flags
    }

    static let fastTimings = [
        "--heartbeat-period", "1s", "--heartbeat-timeout", "3s", "--auto-forget-periods", "2",
        "--leave-timeout", "5s", "--gossip-interval", "100ms", "--push-pull-interval", "2s",
        "--rejoin-interval", "5s"
    ]

    deinit { for member in members { member.process?.stop(SIGKILL) } }

    var ids: [String] { members.map(\.id) }

    func start(_ index: Int, extra: [String] = []) throws {
        try members[index].launch(flags + extra)
    }

    func startAll() throws {
        for index in members.indices { try start(index) }
    }

    /// The ring as member `index` serves it; nil when it does not answer
    /// (stopped, starting, frozen) or answers something else than the JSON.
    func ring(_ index: Int) -> [RingShard]? {
        struct Body: Decodable { var shards: [RingShard] }
        guard
            let reply = HTTP.request(
                members[index].baseURL + "/ingester/ring", headers: ["Accept": "application/json"], timeout: 2),
            reply.status == 200
        else { return nil }
        return try? JSONDecoder().decode(Body.self, from: reply.body).shards
    }

    /// Whether member `index` lists exactly `ids`, every one ACTIVE.
    func sees(_ index: Int, allActive ids: [String]) -> Bool {
        guard let shards = ring(index) else { return false }
        return shards.map(\.id).sorted() == ids.sorted() && shards.allSatisfy { $0.state == "ACTIVE" }
    }

    /// Polls until every member in `on` lists exactly `ids`, all ACTIVE.
    func waitConverged(on: [Int]? = nil, ids: [String]? = nil, timeout: TimeInterval = 60) -> Bool {
        let expected = ids ?? self.ids
        return poll(timeout: timeout) { (on ?? Array(members.indices)).allSatisfy { sees($0, allActive: expected) } }
    }

    /// Each live member's ring, and the tail of every log, for a failure message.
    func report() -> String {
        var text = ""
        for (index, member) in members.enumerated() {
            let shards = member.isRunning ? ring(index) : nil
            let listed = shards.map { $0.map { "\($0.id)=\($0.state)" }.joined(separator: " ") } ?? "(no answer)"
            text += "\(member.id): \(listed)\n"
        }
        for member in members {
            let lines = member.output.split(separator: "\n", omittingEmptySubsequences: false).suffix(40)
            text += "--- \(member.id) log tail ---\n" + lines.joined(separator: "\n") + "\n"
        }
        return text
    }
}

/// `poll` at a finer interval, for measuring how soon a condition holds.
func poll(timeout: TimeInterval, every interval: TimeInterval, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: interval)
    }
    return try condition()
}

/// Latencies in seconds, summarized for the test output.
struct Durations {
    private(set) var values: [Double] = []

    mutating func add(_ seconds: Double) { values.append(seconds) }

    var summary: String {
        guard !values.isEmpty else { return "none" }
        let sorted = values.sorted()
        func at(_ q: Double) -> String {
            String(format: "%.2f", sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * q).rounded()))])
        }
        return "n=\(sorted.count) min \(at(0)) p50 \(at(0.5)) p90 \(at(0.9)) max \(at(1)) s"
    }
}

/// A gossip member played by the test over a blocking socket, with the
/// real codec: it sends one message to a node's gossip port and reads the
/// reply that comes back on the same connection. It listens nowhere, so
/// between its exchanges it hears nothing: a member cut off from the ring.
struct GossipWire {
    let me: GossipMessage.Peer

    /// Named `name`, at an address where nothing listens.
    init(name: String) {
        me = GossipMessage.Peer(name: name, address: "127.0.0.1:\(freePort())")
    }

    /// Full state for full state: `ring` out, the node's ring back.
    func pushPull(_ ring: RingDesc, to port: Int) throws -> GossipMessage {
        try exchange(GossipMessage(kind: .pushPull, sender: me, ring: ring, peers: [me]), port: port)
    }

    /// A delta asking for an ack, which the node sends once it merged it.
    func delta(_ ring: RingDesc, to port: Int) throws -> GossipMessage {
        try exchange(GossipMessage(kind: .delta, sender: me, sequence: 1, ring: ring), port: port)
    }

    func exchange(_ message: GossipMessage, port: Int) throws -> GossipMessage {
        let fd = try connectLoopback(port: port, timeoutSeconds: 5)
        defer { close(fd) }
        let body = GossipCodec.encode(message)
        try write(fd, withUnsafeBytes(of: UInt32(body.count).bigEndian) { Array($0) } + body)
        let length = try read(fd, 4).reduce(0) { $0 << 8 | Int($1) }
        guard length <= 16 << 20 else { throw NodeTestError(description: "reply frame of \(length) bytes") }
        return try GossipCodec.decode(read(fd, length))
    }

    private func write(_ fd: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw NodeTestError(description: "gossip write failed: errno \(errno)") }
            offset += n
        }
    }

    private func read(_ fd: Int32, _ count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let n = bytes[offset...].withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw NodeTestError(description: "no gossip reply (\(offset) of \(count) bytes): errno \(errno)") }
            offset += n
        }
        return bytes
    }
}
