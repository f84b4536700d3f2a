import Foundation
import TestSupport
import Testing

@testable import Engine
@testable import Formats

extension NodeProcessSuites {
    /// Real Prometheus scrapes itself every second and remote-writes to a node for
    /// over a minute; every sample it holds up to what it reports as sent must be
    /// in Muninn, value bits included, and a second Prometheus reading the node
    /// through `remote_read` answers PromQL as the first does. The Debian
    /// Prometheus 2.42 here does not send configured `headers` (checked with a
    /// capturing server), so the tenant travels as the basic-auth username, which
    /// it does send on both paths.
    @Suite struct PrometheusRemoteWriteTests {
        static let queries = [
            "count({__name__=~\".+\"})",
            "count(prometheus_http_requests_total)",
            "sum(rate(prometheus_http_requests_total[30s]))",
            "sum(rate(prometheus_tsdb_head_samples_appended_total[20s]))"
        ]

        @Test func everySampleSentByPrometheusIsStored() throws {
            let dir = temporaryDirectory("node-rw")
            let (node, port) = try startNode(dir, extra: ["--wal-fsync", "never"])
            let promPort = freePort()
            let promDir = temporaryDirectory("prom-rw")
            try """
            global: {scrape_interval: 1s}
            scrape_configs:
              - job_name: self
                static_configs: [{targets: ['127.0.0.1:\(promPort)']}]
            remote_write:
              - url: http://127.0.0.1:\(port)/api/v1/push
                basic_auth: {username: team-a, password: unused}
                queue_config: {batch_send_deadline: 1s}

            """.write(toFile: promDir + "/prometheus.yml", atomically: true, encoding: .utf8)
            let prom = try Subprocess.start(
                "/usr/bin/prometheus",
                [
                    "--config.file=\(promDir)/prometheus.yml", "--storage.tsdb.path=\(promDir)/data",
                    "--web.listen-address=127.0.0.1:\(promPort)"
                ], output: .file(URL(fileURLWithPath: promDir + "/prometheus.log")))
            #expect(HTTP.waitReady("http://127.0.0.1:\(promPort)/-/ready"))
            let began = Date().timeIntervalSince1970

            // A minute of remote-write, measured by what Prometheus reports sent
            // (polled: a loaded machine takes longer, never less).
            func highestSent() -> Double {
                let reply = HTTP.request(
                    "http://127.0.0.1:\(promPort)/api/v1/query?query=max(prometheus_remote_storage_queue_highest_sent_timestamp_seconds)")
                let json = try? JSONSerialization.jsonObject(with: reply?.body ?? Data()) as? [String: Any]
                let value = ((json?["data"] as? [String: Any])?["result"] as? [[String: Any]])?.first?["value"] as? [Any]
                return Double(value?.last as? String ?? "") ?? 0
            }
            var sent = highestSent()
            let minuteDeadline = Date().addingTimeInterval(300)
            while sent < began + 60, Date() < minuteDeadline {
                usleep(500_000)
                sent = highestSent()
            }
            #expect(sent >= began + 60, "Prometheus sent up to \(sent), wanted \(began + 60)")
            // Everything scraped before the newest sent scrape: those scrapes are all
            // read from Prometheus's WAL, though possibly still queued in a shard.
            let cutoff = Int64(sent * 1000) - 1

            // A second Prometheus with only remote_read to the node agrees on PromQL at the cutoff.
            let readerPort = freePort()
            let readerDir = temporaryDirectory("prom-reader")
            try """
            global: {scrape_interval: 1h}
            remote_read:
              - url: http://127.0.0.1:\(port)/api/v1/read
                basic_auth: {username: team-a, password: unused}
                read_recent: true

            """.write(toFile: readerDir + "/prometheus.yml", atomically: true, encoding: .utf8)
            let reader = try Subprocess.start(
                "/usr/bin/prometheus",
                [
                    "--config.file=\(readerDir)/prometheus.yml", "--storage.tsdb.path=\(readerDir)/data",
                    "--web.listen-address=127.0.0.1:\(readerPort)"
                ], output: .file(URL(fileURLWithPath: readerDir + "/prometheus.log")))
            #expect(HTTP.waitReady("http://127.0.0.1:\(readerPort)/-/ready"))
            // Poll until the queued rest has arrived: the node holds as many samples
            // up to the cutoff as Prometheus does.
            var source = try samplesUpTo(cutoff, promPort), viaMuninn = try samplesUpTo(cutoff, readerPort)
            let arrivalDeadline = Date().addingTimeInterval(120)
            while source != viaMuninn, Date() < arrivalDeadline {
                usleep(500_000)
                source = try samplesUpTo(cutoff, promPort)
                viaMuninn = try samplesUpTo(cutoff, readerPort)
            }
            #expect(source > 0 && source == viaMuninn, "samples up to the cutoff: Prometheus \(source), Muninn \(viaMuninn)")
            for q in Self.queries {
                let source = try promQL(promPort, q, at: cutoff), viaMuninn = try promQL(readerPort, q, at: cutoff)
                #expect(
                    source != nil && source == viaMuninn, "\(q): source \(String(describing: source)), via Muninn \(String(describing: viaMuninn))")
            }
            #expect(reader.stop() == 0)
            #expect(prom.stop() == 0)
            #expect(node.stop() == 0)
            #expect(!prom.output.contains("non-recoverable error"), "Prometheus dropped data:\n\(prom.output.suffix(2000))")

            // What Prometheus holds up to the cutoff, from its own TSDB.
            let dump = try runTool("/usr/bin/promtool", ["tsdb", "dump", "--max-time=\(cutoff)", promDir + "/data"])
            var expected: [Labels: [Sample]] = [:]
            for line in dump.split(separator: "\n") {
                let parsed = try DumpFormat.parse(line)
                expected[parsed.labels, default: []].append(parsed.sample)
            }
            #expect(expected.count > 100, "Prometheus scraped too little: \(expected.count) series")

            let db = try TenantDB.open(directory: dir + "/tsdb/team-a", tenant: "team-a", options: DatabaseOptions(wal: WALOptions(fsync: .never)))
            var stored: [Labels: [Sample]] = [:]
            for s in try db.select(maxt: cutoff, matchers: [try LabelMatcher(.regexMatch, "__name__", ".+")]) {
                stored[s.labels] = try s.samples(maxt: cutoff)
            }
            try db.close()
            var missing = 0
            for (labels, samples) in expected {
                // promtool prints every NaN as NaN; compare those by NaN-ness.
                let got = stored[labels] ?? []
                let same =
                    got.count == samples.count
                    && zip(got, samples).allSatisfy {
                        $0.timestamp == $1.timestamp && ($0.value.isNaN ? $1.value.isNaN : $0.value.bitPattern == $1.value.bitPattern)
                    }
                if !same { missing += 1; if missing <= 3 { Issue.record("\(labels): Prometheus \(samples.count) samples, Muninn \(got.count)") } }
            }
            #expect(missing == 0, "\(missing) of \(expected.count) series differ")
        }
    }
}

extension NodeProcessSuites {
    @Suite struct PushBadInputTests {
        /// Each bad request gets the documented status and a message saying why, and
        /// the node keeps serving.
        @Test func badInputsGetClearErrors() throws {
            let dir = temporaryDirectory("node-bad")
            let (node, port) = try startNode(dir)
            defer { node.stop() }
            let url = "http://127.0.0.1:\(port)/api/v1/push"
            let tenant = ["X-Scope-OrgID": "t1", "Content-Type": "application/x-protobuf", "Content-Encoding": "snappy"]
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            func body(_ series: [(Labels, [Sample])]) -> Data {
                Data(RemoteWrite.encode(RemoteWriteRequest(series: series.map { RemoteWriteSeries(labels: $0.0, samples: $0.1) })))
            }
            func rawLabels(_ pairs: [(String, String)]) -> Labels { Labels(sorted: pairs.map { Label($0.0, $0.1) }) }
            let good = body([(Labels(["__name__": "ok", "job": "a"]), [Sample(timestamp: now, value: 1)])])

            let cases: [(String, [String: String], Data, Int, String)] = [
                ("valid", tenant, good, 204, ""),
                ("missing tenant", ["Content-Encoding": "snappy"], good, 401, "X-Scope-OrgID"),
                ("tenant as basic-auth user", ["Authorization": "Basic " + Data("t2:secret".utf8).base64EncodedString()], good, 204, ""),
                ("bad basic-auth tenant", ["Authorization": "Basic " + Data("../x:secret".utf8).base64EncodedString()], good, 400, "tenant"),
                ("basic auth without user", ["Authorization": "Basic " + Data(":secret".utf8).base64EncodedString()], good, 401, "X-Scope-OrgID"),
                ("bad tenant", tenant.merging(["X-Scope-OrgID": "a/b"]) { $1 }, good, 400, "tenant"),
                ("truncated snappy", tenant, good.prefix(good.count / 2), 400, "invalid remote-write request"),
                ("not snappy", tenant, Data("hello world".utf8), 400, "invalid remote-write request"),
                ("invalid protobuf", tenant, Data(SnappyBlock.compress([0x0A, 0xFF, 0xFF, 0x01])), 400, "protobuf"),
                (
                    "unsorted labels", tenant, body([(rawLabels([("job", "a"), ("__name__", "x")]), [Sample(timestamp: now, value: 1)])]), 400,
                    "sorted"
                ),
                (
                    "duplicate label", tenant,
                    body([(rawLabels([("__name__", "x"), ("job", "a"), ("job", "b")]), [Sample(timestamp: now, value: 1)])]), 400, "duplicate"
                ),
                (
                    "empty metric name", tenant, body([(rawLabels([("__name__", ""), ("job", "a")]), [Sample(timestamp: now, value: 1)])]), 400,
                    "metric name"
                ),
                (
                    "huge label value", tenant,
                    body([(Labels(["__name__": "x", "v": String(repeating: "v", count: 5000)]), [Sample(timestamp: now, value: 1)])]), 400,
                    "label-value-too-long"
                ),
                (
                    "out of order", tenant, body([(Labels(["__name__": "ok", "job": "a"]), [Sample(timestamp: now - 1000, value: 1)])]), 400,
                    "sample-out-of-order"
                ),
                (
                    "remote-write 2.0", tenant.merging(["Content-Type": "application/x-protobuf;proto=io.prometheus.write.v2.Request"]) { $1 }, good,
                    415, "2.0"
                ),
                ("too large", tenant, Data(repeating: 1, count: 17 * 1024 * 1024), 413, "larger")
            ]
            for (name, headers, data, status, message) in cases {
                let reply = HTTP.request(url, method: "POST", headers: headers, body: data, timeout: 30)
                #expect(reply?.status == status, "\(name): got \(reply?.status ?? 0) \(reply?.text ?? "")")
                if !message.isEmpty { #expect(reply?.text.contains(message) == true, "\(name): \(reply?.text ?? "")") }
            }
            // A request mixing valid and invalid series stores the valid ones.
            let mixed = body([
                (Labels(["__name__": "mixed", "i": "1"]), [Sample(timestamp: now, value: 7)]),
                (rawLabels([("__name__", "mixed"), ("b", "1"), ("a", "1")]), [Sample(timestamp: now, value: 8)])
            ])
            let reply = HTTP.request(url, method: "POST", headers: tenant, body: mixed)
            #expect(reply?.status == 400 && reply?.text.contains("1 samples stored") == true, "\(reply?.text ?? "")")
            let series = HTTP.request("http://127.0.0.1:\(port)/api/v1/series?match%5B%5D=mixed", headers: tenant)
            #expect(series?.text == #"{"data":[{"__name__":"mixed","i":"1"}],"status":"success"}"#)
            let t2 = HTTP.request("http://127.0.0.1:\(port)/api/v1/series?match%5B%5D=ok", headers: ["X-Scope-OrgID": "t2"])
            #expect(t2?.text == #"{"data":[{"__name__":"ok","job":"a"}],"status":"success"}"#)
            #expect(HTTP.request("http://127.0.0.1:\(port)/ready")?.status == 200)
        }
    }
}

/// The single value of an instant PromQL query at `ms`, or nil.
func promQL(_ port: Int, _ query: String, at ms: Int64) throws -> Double? {
    let time = String(format: "%.3f", Double(ms) / 1000)
    let url = "http://127.0.0.1:\(port)/api/v1/query?query=\(query.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)&time=\(time)"
    let reply = HTTP.request(url)
    if reply?.status != 200 || !(reply?.text.contains("\"value\"") ?? false) {
        Issue.record("query \(query): \(reply?.status ?? 0) \(reply?.text ?? "no reply")")
    }
    guard let reply, reply.status == 200,
        let json = try JSONSerialization.jsonObject(with: reply.body) as? [String: Any],
        let data = json["data"] as? [String: Any], let result = data["result"] as? [[String: Any]],
        let value = result.first?["value"] as? [Any], let text = value.last as? String
    else { return nil }
    return Double(text)
}

/// Samples of every series in the 10 minutes up to `ms`, counted from a
/// range-vector query (the count_over_time of all metrics would collide once
/// the names are dropped).
func samplesUpTo(_ ms: Int64, _ port: Int) throws -> Int {
    let time = String(format: "%.3f", Double(ms) / 1000)
    let query = #"{__name__=~".+"}[10m]"#.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
    guard let reply = HTTP.request("http://127.0.0.1:\(port)/api/v1/query?query=\(query)&time=\(time)", timeout: 30),
        reply.status == 200,
        let json = try JSONSerialization.jsonObject(with: reply.body) as? [String: Any],
        let data = json["data"] as? [String: Any], let result = data["result"] as? [[String: Any]]
    else { return 0 }
    return result.reduce(0) { $0 + (($1["values"] as? [Any])?.count ?? 0) }
}

/// Runs a tool and returns stdout; throws when it exits non-zero.
func runTool(_ path: String, _ args: [String]) throws -> String {
    String(decoding: try Subprocess.output(path, args), as: UTF8.self)
}
