import Formats
import Foundation
import TestSupport
import Testing

/// What a hostile request must get back.
enum HostileExpect: CustomStringConvertible {
    /// 2xx: the request is odd but legal.
    case success
    /// 4xx with a reason in the body.
    case refused
    /// 4xx, body optional: routing answers (no such path or method).
    case clientError
    /// 4xx, or the connection closed without an answer: malformed HTTP that
    /// the server's parser may drop.
    case refusedOrClosed

    func admits(_ reply: RawHTTP.Reply?) -> Bool {
        guard let reply else { return self == .refusedOrClosed }
        switch self {
        case .success: return (200..<300).contains(reply.status)
        case .refused: return (400..<500).contains(reply.status) && !reply.body.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        case .clientError, .refusedOrClosed: return (400..<500).contains(reply.status)
        }
    }

    var description: String {
        switch self {
        case .success: "2xx"
        case .refused: "4xx with a reason"
        case .clientError: "4xx"
        case .refusedOrClosed: "4xx or closed"
        }
    }
}

struct HostileCase {
    enum Request {
        /// Bytes on a socket, optionally half-closed after sending.
        case raw([UInt8], halfClose: Bool)
        /// Through URLSession: bodies large enough that the server answers
        /// before reading them all.
        case session(method: String, path: String, headers: [String: String], body: Data)
    }

    var name: String
    var request: Request
    var expect: HostileExpect

    init(_ name: String, _ request: Request, _ expect: HostileExpect) {
        self.name = name
        self.request = request
        self.expect = expect
    }

    func send(port: Int) -> RawHTTP.Reply? {
        switch request {
        case let .raw(bytes, halfClose):
            return RawHTTP.exchange(port: port, bytes, halfClose: halfClose)
        case let .session(method, path, headers, body):
            return HTTP.request("http://127.0.0.1:\(port)\(path)", method: method, headers: headers, body: body, timeout: 60)
                .map { RawHTTP.Reply(status: $0.status, body: $0.text) }
        }
    }
}

/// Requests a hostile or broken client sends, each against one running node:
/// every case gets its documented status class and the node answers /ready
/// after it. Then the node is stopped, restarted on the same data and runs a
/// maintenance pass over whatever was accepted, and must still be up.
@Suite(.serialized) struct HostileRequestTests {
    static let tenant = "hostile"

    @Test func everyHostileRequestGetsItsStatusAndTheNodeSurvives() throws {
        let dir = temporaryDirectory("node-hostile")
        let bucket = dir + "-bucket"
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        var (node, port) = try startNode(dir, extra: ["--bucket-dir", bucket])
        let cases = Self.pushCases(now: now) + Self.queryCases() + Self.readCases() + Self.protocolCases()
        Self.run(cases, node: node, port: port)

        // Restart on the same data, with a maintenance pass every second that
        // writes every idle head out as blocks: the data accepted above (the
        // extreme timestamps included, if any were) goes through replay, a
        // block cut and shipping.
        #expect(node.stop(SIGTERM) == 0, "exit status on SIGTERM")
        let config = dir + "-maintenance.yaml"
        try "storage:\n  maintenanceIntervalSeconds: 1\n  idleFlushSeconds: 1\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        (node, port) = try startNode(dir, extra: ["--bucket-dir", bucket, "--config", config])
        defer { node.stop() }
        let base = "http://127.0.0.1:\(port)"
        let deadline = Date().addingTimeInterval(120)
        var cut = 0
        while Date() < deadline, node.process.isRunning {
            let metrics = HTTP.request(base + "/metrics", timeout: 5)?.text ?? ""
            cut =
                metrics.split(separator: "\n").first { $0.hasPrefix("muninn_blocks_cut_total ") }
                .flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
            if cut > 0 { break }
            usleep(200_000)
        }
        #expect(cut > 0, "no maintenance pass cut a block within 120 s:\n\(node.output.suffix(3000))")
        #expect(
            node.process.isRunning && HTTP.request(base + "/ready")?.status == 200,
            "node not up after a maintenance pass:\n\(node.output.suffix(3000))")
        #expect(node.stop(SIGTERM) == 0)
        #expect(!node.output.contains("Fatal error"), "\(node.output.suffix(3000))")
    }

    /// Regular expressions that take exponential time in a backtracking
    /// engine, against label values long enough for it to show. Prometheus
    /// (RE2) answers them at once; so must the node, and stay ready.
    @Test func regexBombsAnswerAndTheNodeStaysReady() throws {
        let dir = temporaryDirectory("node-regex-bomb")
        let (node, port) = try startNode(dir, extra: ["--bucket-dir", dir + "-bucket"])
        defer { node.stop() }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let long = String(repeating: "x", count: 64)
        let seed = RemoteWrite.encode(
            RemoteWriteRequest(
                series: (0..<20).map { i in
                    RemoteWriteSeries(labels: Labels(["__name__": "bomb", "i": "\(i)", "v": long]), samples: [Sample(timestamp: now, value: 1)])
                }))
        #expect(RawHTTP.exchange(port: port, Self.post("/api/v1/push", seed))?.status == 204)
        var cases: [HostileCase] = []
        for pattern in ["(x|x)*y", "(x+x+)+y", "(x*)*y", "(.*x){30}y", "((x|xx)+)+y"] {
            let selector = "{v=~\"\(pattern)\"}"
            cases.append(
                HostileCase("series \(selector)", .raw(Self.get("/api/v1/series?match%5B%5D=" + Self.escaped(selector)), halfClose: false), .success))
            cases.append(
                HostileCase(
                    "label values \(selector)", .raw(Self.get("/api/v1/label/i/values?match%5B%5D=" + Self.escaped(selector)), halfClose: false),
                    .success))
            let matcher = try LabelMatcher(.regexMatch, "v", pattern)
            let read = RemoteReadRequest(queries: [
                .init(
                    startMs: now - 60_000, endMs: now + 60_000,
                    matchers: [try LabelMatcher(.equal, "__name__", "bomb"), matcher])
            ])
            cases.append(
                HostileCase(
                    "remote read \(selector)", .raw(Self.post("/api/v1/read", RawProtobuf.snappy(read.encoded())), halfClose: false), .success))
        }
        Self.run(cases, node: node, port: port)
    }

    /// Sends each case, checks its status class and that /ready answers 200
    /// afterwards; stops at the first case after which the node is gone.
    static func run(_ cases: [HostileCase], node: ChildProcess, port: Int) {
        for c in cases {
            let reply = c.send(port: port)
            #expect(
                c.expect.admits(reply),
                "\(c.name): want \(c.expect), got \(reply.map { "\($0.status) \($0.body.prefix(300))" } ?? "no answer")")
            let ready = HTTP.request("http://127.0.0.1:\(port)/ready", timeout: 10)
            guard ready?.status == 200, node.process.isRunning else {
                Issue.record("node not ready after \(c.name) (\(ready?.status ?? 0)):\n\(node.output.suffix(3000))")
                return
            }
        }
    }

    // MARK: Requests

    static func get(_ target: String, tenant: String = tenant) -> [UInt8] {
        RawHTTP.build("GET", Array(target.utf8), headers: [("X-Scope-OrgID", Array(tenant.utf8))])
    }

    static func post(_ target: String, _ body: [UInt8], tenant: String = tenant, headers: [(String, [UInt8])] = []) -> [UInt8] {
        RawHTTP.build("POST", Array(target.utf8), headers: [("X-Scope-OrgID", Array(tenant.utf8))] + headers, body: body)
    }

    static func form(_ target: String, _ body: String) -> [UInt8] {
        post(target, Array(body.utf8), headers: [("Content-Type", Array("application/x-www-form-urlencoded".utf8))])
    }

    /// Percent-encodes everything but unreserved characters.
    static func escaped(_ s: String) -> String {
        s.addingPercentEncoding(
            withAllowedCharacters: CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")) ?? s
    }

    static func raw(_ bytes: [UInt8], halfClose: Bool = false) -> HostileCase.Request { .raw(bytes, halfClose: halfClose) }

    static func write(_ series: [RemoteWriteSeries]) -> [UInt8] { RemoteWrite.encode(RemoteWriteRequest(series: series)) }

    static func one(_ timestamps: [Int64], value: Double = 1, labels: Labels = Labels(["__name__": "hostile_up", "job": "api"])) -> [UInt8] {
        write([RemoteWriteSeries(labels: labels, samples: timestamps.map { Sample(timestamp: $0, value: value) })])
    }

    static let giant = Data(repeating: 0x41, count: 20 * 1024 * 1024)
}
