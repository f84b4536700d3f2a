import Formats
import Foundation
import TestSupport
import Testing

/// Who may call what: admin endpoints (loopback or a bearer token), tenant
/// authentication from `auth.tenantsFile`, instance limits, TLS.
@Suite(.serialized) struct AccessTests {
    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    static func body(_ tenantSeries: Int = 1, name: String = "up") -> Data {
        let t = now()
        return Data(
            RemoteWrite.encode(
                RemoteWriteRequest(
                    series: (0..<tenantSeries).map {
                        RemoteWriteSeries(labels: Labels(["__name__": name, "i": String($0)]), samples: [Sample(timestamp: t, value: 1)])
                    })))
    }

    static func basic(_ user: String, _ password: String) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    @Test func adminEndpointsNeedTheTokenWhenOneIsSet() throws {
        let dir = temporaryDirectory("node-admin-token")
        let config = try ConfigTests.write("server:\n  adminToken: s3cret\n")
        let (node, port) = try startNode(dir, extra: ["--config", config])
        defer { node.stop() }
        let url = "http://127.0.0.1:\(port)/ingester/flush"
        let none = HTTP.request(url, method: "POST")
        #expect(none?.status == 401, "\(none?.text ?? "")")
        let wrong = HTTP.request(url, method: "POST", headers: ["Authorization": "Bearer s3cre"])
        #expect(wrong?.status == 401)
        let right = HTTP.request(url, method: "POST", headers: ["Authorization": "Bearer s3cret"])
        #expect(right?.status == 204, "\(right?.text ?? "")")
    }

    /// A client in another network namespace (a separate host on a veth pair)
    /// is refused the admin endpoints while its pushes are served.
    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip")))
    func adminEndpointsRefuseOtherHostsWithoutAToken() throws {
        let id = String(getpid() % 100_000)
        let ns = "muninn-adm-\(id)", hostSide = "vm\(id)", nsSide = "vn\(id)"
        func ip(_ args: [String]) throws -> Int32 {
            try Subprocess.run("/usr/sbin/ip", args).status
        }
        _ = try? ip(["netns", "del", ns])
        #expect(try ip(["netns", "add", ns]) == 0)
        defer { _ = try? ip(["link", "del", hostSide]); _ = try? ip(["netns", "del", ns]) }
        for args in [
            ["link", "add", hostSide, "type", "veth", "peer", "name", nsSide], ["link", "set", nsSide, "netns", ns],
            ["addr", "add", "10.231.0.1/30", "dev", hostSide], ["link", "set", hostSide, "up"],
            ["netns", "exec", ns, "ip", "addr", "add", "10.231.0.2/30", "dev", nsSide],
            ["netns", "exec", ns, "ip", "link", "set", nsSide, "up"]
        ] {
            #expect(try ip(args) == 0, "ip \(args)")
        }
        let dir = temporaryDirectory("node-admin-remote")
        let (node, port) = try startNode(dir, extra: ["--http-address", "0.0.0.0"])
        defer { node.stop() }
        func fromOtherHost(_ method: String, _ path: String, _ headers: [String] = []) throws -> String {
            try Subprocess.run(
                "/usr/sbin/ip",
                [
                    "netns", "exec", ns, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                    "-X", method, "--max-time", "10"
                ]
                    + headers.flatMap { ["-H", $0] } + ["http://10.231.0.1:\(port)\(path)"]
            ).stdout
        }
        #expect(try fromOtherHost("GET", "/ready") == "200")
        #expect(try fromOtherHost("POST", "/ingester/flush") == "403")
        #expect(try fromOtherHost("POST", "/ingester/shutdown") == "403")
        #expect(try fromOtherHost("GET", "/api/v1/labels", ["X-Scope-OrgID: t"]) == "200")
        #expect(HTTP.request("http://127.0.0.1:\(port)/ready")?.status == 200, "the node must still run")
    }

    @Test func loopbackClientsMayFlushWithoutAToken() throws {
        let dir = temporaryDirectory("node-admin-loopback")
        let (node, port) = try startNode(dir)
        defer { node.stop() }
        let push = HTTP.request(
            "http://127.0.0.1:\(port)/api/v1/write", method: "POST",
            headers: ["X-Scope-OrgID": "t"], body: Self.body())
        #expect(push?.status == 204, "\(push?.text ?? "")")
        let flush = HTTP.request("http://127.0.0.1:\(port)/ingester/flush", method: "POST")
        #expect(flush?.status == 204, "\(flush?.text ?? "")")
        let blocks = try FileManager.default.contentsOfDirectory(atPath: dir + "/tsdb/t").filter { ULID($0) != nil }
        #expect(blocks.count == 1, "\(blocks)")
    }

    /// Basic auth with a bcrypt hash and a bearer token; the tenant is the
    /// authenticated one and another X-Scope-OrgID is refused.
    @Test func tenantsAuthenticateWhenATenantsFileIsSet() throws {
        let hash = try muninn(["auth", "hash-password", "--cost", "4"], input: "pa55word\n")
        #expect(hash.status == 0, "\(hash.stderr)")
        let token = try muninn(["auth", "new-token"])
        let lines = token.stdout.split(separator: "\n").map { $0.split(separator: " ").last.map(String.init) ?? "" }
        #expect(lines.count == 2)
        let dir = temporaryDirectory("node-auth")
        let tenants = dir + "-tenants.yml"
        try """
        tenants:
          team-a: {passwordHash: "\(hash.stdout.trimmingCharacters(in: .whitespacesAndNewlines))"}
          team-b: {tokenSHA256: "\(lines[1])"}
        """.write(toFile: tenants, atomically: true, encoding: .utf8)
        let config = try ConfigTests.write("auth:\n  tenantsFile: \(tenants)\n")
        let (node, port) = try startNode(dir, extra: ["--config", config])
        defer { node.stop() }
        let url = "http://127.0.0.1:\(port)/api/v1/push"
        func push(_ headers: [String: String]) -> Int { HTTP.request(url, method: "POST", headers: headers, body: Self.body())?.status ?? 0 }

        #expect(push([:]) == 401)
        #expect(push(["X-Scope-OrgID": "team-a"]) == 401)
        #expect(push(["Authorization": Self.basic("team-a", "wrong")]) == 401)
        #expect(push(["Authorization": Self.basic("team-c", "pa55word")]) == 401)
        #expect(push(["Authorization": Self.basic("team-a", "pa55word")]) == 204)
        #expect(push(["Authorization": Self.basic("team-a", "pa55word"), "X-Scope-OrgID": "team-a"]) == 204)
        #expect(push(["Authorization": Self.basic("team-a", "pa55word"), "X-Scope-OrgID": "team-b"]) == 403)
        #expect(push(["Authorization": "Bearer " + lines[0]]) == 204)
        #expect(push(["Authorization": "Bearer " + lines[0] + "x"]) == 401)
        let series = HTTP.request(
            "http://127.0.0.1:\(port)/api/v1/series?match[]=up",
            headers: ["Authorization": "Bearer " + lines[0]])
        #expect(series?.status == 200 && series?.text.contains("\"i\":\"0\"") == true, "\(series?.text ?? "")")
        let dirs = try FileManager.default.contentsOfDirectory(atPath: dir + "/tsdb").sorted()
        #expect(dirs == ["team-a", "team-b"])
    }

    @Test func badTenantsFilesStopTheNodeNamingTheKey() throws {
        let dir = temporaryDirectory("node-auth-bad")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let cases: [(String, String)] = [
            ("tenants:\n  team-a: {passwordHash: plain}\n", "tenants.team-a.passwordHash: not a bcrypt hash"),
            ("tenants:\n  team-a: {tokenSHA256: abc}\n", "tenants.team-a.tokenSHA256: expected 64 hex digits"),
            ("tenants:\n  \"a/b\": {tokenSHA256: abc}\n", "invalid tenant ID"),
            ("tenants:\n  team-a: {}\n", "tenants.team-a: needs passwordHash or tokenSHA256")
        ]
        for (yaml, message) in cases {
            let tenants = dir + "/tenants.yml"
            try yaml.write(toFile: tenants, atomically: true, encoding: .utf8)
            let config = try ConfigTests.write("auth:\n  tenantsFile: \(tenants)\n")
            let r = try muninn(["node", "--config", config, "--data-dir", dir + "/data", "--http-port", String(freePort())])
            #expect(r.status == 1, "\(yaml)")
            #expect(r.stderr.contains(message), "\(yaml): \(r.stderr)")
        }
    }

    /// A node at its tenant limit refuses a new tenant with a retryable 503
    /// and keeps serving the ones it has; over the series limit likewise.
    @Test func instanceLimitsAnswerRetryable503() throws {
        let dir = temporaryDirectory("node-instance-limits")
        let config = try ConfigTests.write("instanceLimits:\n  maxTenants: 2\n  maxSeries: 5\n")
        let (node, port) = try startNode(dir, extra: ["--config", config])
        defer { node.stop() }
        let url = "http://127.0.0.1:\(port)/api/v1/push"
        for tenant in ["a", "b"] {
            #expect(HTTP.request(url, method: "POST", headers: ["X-Scope-OrgID": tenant], body: Self.body())?.status == 204)
        }
        let third = HTTP.request(url, method: "POST", headers: ["X-Scope-OrgID": "c"], body: Self.body())
        #expect(third?.status == 503 && third?.text.contains("max-tenants") == true, "\(third?.text ?? "")")
        #expect(HTTP.request(url, method: "POST", headers: ["X-Scope-OrgID": "a"], body: Self.body(4))?.status == 204)
        // 5 series now; the cached total refreshes within a second.
        var refused: HTTP.Reply?
        let deadline = Date().addingTimeInterval(10)
        repeat {
            refused = HTTP.request(url, method: "POST", headers: ["X-Scope-OrgID": "b"], body: Self.body(1, name: "other"))
            if refused?.status == 503 { break }
            usleep(200_000)
        } while Date() < deadline
        #expect(refused?.status == 503 && refused?.text.contains("max-series") == true, "\(refused?.text ?? "")")
        let metrics = HTTP.request("http://127.0.0.1:\(port)/metrics")?.text ?? ""
        #expect(metrics.contains("muninn_instance_limit_rejections_total{limit=\"max-tenants\"} 1"), "\(metrics)")
        // Nothing in flight once the pushes are answered.
        #expect(metrics.contains("muninn_inflight_push_requests 0"), "\(metrics)")
        #expect(metrics.contains("muninn_inflight_push_bytes 0"), "\(metrics)")
    }

    @Test func seriesWithoutAMetricNameGet400() throws {
        let dir = temporaryDirectory("node-no-metric-name")
        let (node, port) = try startNode(dir)
        defer { node.stop() }
        let t = Self.now()
        let body = Data(
            RemoteWrite.encode(
                RemoteWriteRequest(series: [
                    RemoteWriteSeries(labels: Labels(["job": "x"]), samples: [Sample(timestamp: t, value: 1)]),
                    RemoteWriteSeries(labels: Labels(["__name__": "up"]), samples: [Sample(timestamp: t, value: 1)])
                ])))
        let r = HTTP.request("http://127.0.0.1:\(port)/api/v1/push", method: "POST", headers: ["X-Scope-OrgID": "t"], body: body)
        #expect(r?.status == 400 && r?.text.contains("no metric name") == true, "\(r?.text ?? "")")
        #expect(r?.text.contains("1 samples stored") == true, "\(r?.text ?? "")")
    }

    /// HTTPS with a self-signed certificate made by openssl.
    @Test func tlsServesHTTPS() throws {
        let dir = temporaryDirectory("node-tls")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let cert = dir + "/cert.pem", key = dir + "/key.pem"
        let openssl = try Subprocess.run(
            "openssl",
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"
            ])
        #expect(openssl.succeeded, "\(openssl.stderr)")
        let config = try ConfigTests.write("server:\n  tls:\n    certFile: \(cert)\n    keyFile: \(key)\n")
        let port = freePort()
        let node = try Subprocess.start(
            muninnBinary().path,
            [
                "node", "--config", config, "--http-address", "127.0.0.1",
                "--http-port", String(port), "--data-dir", dir + "/data"
            ],
            output: .file(URL(fileURLWithPath: dir + "-node.log")))
        defer { node.stop() }
        var answer = ""
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            answer = try Subprocess.run("curl", ["-s", "--cacert", cert, "https://127.0.0.1:\(port)/ready"]).stdout
            if answer.contains("ready") { break }
            usleep(200_000)
        }
        #expect(answer == "ready\n", "\(node.output)")
        // Plain HTTP on the TLS port gets no HTTP answer.
        #expect(HTTP.request("http://127.0.0.1:\(port)/ready", timeout: 3)?.status != 200)
    }
}
