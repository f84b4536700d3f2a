import Engine
import Formats
import Foundation
import TestSupport
import Testing

/// Writes `series` counters and a gauge for tenant `a` straight into a data
/// directory: one sample every 15 s for the last `minutes` minutes.
func preload(_ dataDir: String, tenant: String = "a", minutes: Int = 10) throws -> (now: Int64, samples: Int) {
    let dbs = try Databases(dataDirectory: dataDir, options: DatabaseOptions(wal: WALOptions(fsync: .never)))
    let db = try dbs.database(for: tenant)
    let now = Int64(Date().timeIntervalSince1970 * 1000) / 15_000 * 15_000
    var count = 0
    for step in 0..<(minutes * 4) {
        let t = now - Int64(minutes * 60_000) + Int64(step) * 15_000
        var batch = AppendBatch()
        for i in 0..<5 {
            batch.add(
                Labels(["__name__": "e2e_requests_total", "job": "api", "instance": "i\(i)"]), timestamp: t,
                value: Double(step * (i + 1) * 3))
        }
        batch.add(Labels(["__name__": "e2e_up", "job": "api"]), timestamp: t, value: 1)
        count += try db.append(batch).accepted
    }
    try dbs.close()
    return (now, count)
}

extension NodeProcessSuites {
    @Suite struct NodeAPITests {
        @Test func jsonAPIsAnswerLikePrometheusAndShutdownIsClean() throws {
            let dir = temporaryDirectory("node-api")
            _ = try preload(dir)
            let (node, port) = try startNode(dir, extra: ["--wal-fsync", "always"])
            let base = "http://127.0.0.1:\(port)"
            let a = ["X-Scope-OrgID": "a"]
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let push = HTTP.request(
                base + "/api/v1/push", method: "POST", headers: a,
                body: Data(
                    RemoteWrite.encode(
                        RemoteWriteRequest(
                            series: [RemoteWriteSeries(labels: Labels(["__name__": "e2e_pushed"]), samples: [Sample(timestamp: now, value: 1)])]))))
            #expect(push?.status == 204)

            let series = HTTP.request(base + "/api/v1/series?match%5B%5D=e2e_requests_total%7Binstance%3D%22i1%22%7D", headers: a)
            #expect(series?.status == 200)
            #expect(series?.text == #"{"data":[{"__name__":"e2e_requests_total","instance":"i1","job":"api"}],"status":"success"}"#)
            #expect(HTTP.request(base + "/api/v1/labels", headers: a)?.text == #"{"data":["__name__","instance","job"],"status":"success"}"#)
            #expect(HTTP.request(base + "/api/v1/label/job/values", headers: a)?.text == #"{"data":["api"],"status":"success"}"#)
            let form = HTTP.request(
                base + "/api/v1/series", method: "POST", headers: a.merging(["Content-Type": "application/x-www-form-urlencoded"]) { $1 },
                body: Data("match[]=e2e_up".utf8))
            #expect(form?.text == #"{"data":[{"__name__":"e2e_up","job":"api"}],"status":"success"}"#)
            // Another tenant sees nothing.
            #expect(HTTP.request(base + "/api/v1/label/job/values", headers: ["X-Scope-OrgID": "b"])?.text == #"{"data":[],"status":"success"}"#)

            // Errors name the problem.
            let noTenant = HTTP.request(base + "/api/v1/labels")
            #expect(noTenant?.status == 401 && noTenant?.text.contains("X-Scope-OrgID") == true)
            #expect(HTTP.request(base + "/api/v1/labels", headers: ["X-Scope-OrgID": "../etc"])?.status == 400)
            let badMatch = HTTP.request(base + "/api/v1/series?match%5B%5D=%7B", headers: a)
            #expect(badMatch?.status == 400 && badMatch?.text.contains("invalid match[]") == true)
            #expect(HTTP.request(base + "/api/v1/series", headers: a)?.text.contains("no match[]") == true)

            let metrics = HTTP.request(base + "/metrics")?.text ?? ""
            #expect(metrics.contains(#"muninn_head_series{tenant="a"} 7"#))
            #expect(metrics.contains("muninn_request_duration_seconds_bucket"))
            #expect(metrics.contains(#"muninn_ingested_samples_total{tenant="a"} 1"#))
            #expect(metrics.contains(#"muninn_wal_written_bytes_total{tenant="a"}"#))
            #expect(metrics.contains(#"muninn_wal_fsyncs_total{tenant="a"}"#))
            #expect(metrics.contains("muninn_wal_fsync_duration_seconds_count 1"), "\(metrics)")

            #expect(node.stop(SIGTERM) == 0)
            #expect(!node.output.contains("Fatal error"))
        }
    }
}

extension NodeProcessSuites {
    /// A real Prometheus with `remote_read` pointed at the node answers PromQL over
    /// Muninn's data, exactly as the data implies. The tenant is the basic-auth
    /// username (this Prometheus build drops custom `headers`).
    @Suite struct RemoteReadPrometheusTests {
        @Test func promQLOverMuninnMatchesTheStoredData() throws {
            let dir = temporaryDirectory("node-rr")
            let (now, _) = try preload(dir, tenant: "team-b")
            let (node, port) = try startNode(dir)
            defer { node.stop() }
            let promPort = freePort()
            let promDir = temporaryDirectory("prom-rr")
            let config = """
                global: {scrape_interval: 1h}
                remote_read:
                  - url: http://127.0.0.1:\(port)/api/v1/read
                    basic_auth: {username: team-b, password: unused}
                    read_recent: true

                """
            try config.write(toFile: promDir + "/prometheus.yml", atomically: true, encoding: .utf8)
            let prom = try Subprocess.start(
                "/usr/bin/prometheus",
                [
                    "--config.file=\(promDir)/prometheus.yml", "--storage.tsdb.path=\(promDir)/data",
                    "--web.listen-address=127.0.0.1:\(promPort)"
                ], output: .file(URL(fileURLWithPath: promDir + "/prometheus.log")))
            defer { prom.stop() }
            #expect(HTTP.waitReady("http://127.0.0.1:\(promPort)/-/ready"))

            func query(_ q: String) throws -> Double? { try promQL(promPort, q, at: now - 15_000) }
            #expect(try query("count(e2e_requests_total)") == 5)
            #expect(try query("sum(e2e_up)") == 1)
            // Counter i grows by 3·(i+1) every 15 s: rate = 0.2·(i+1)/s, summed over i = 0…4 → 3.0/s.
            let rate = try query("sum(rate(e2e_requests_total[5m]))")
            #expect(rate != nil && abs(rate! - 3.0) < 1e-9, "rate \(String(describing: rate))")
            #expect(try query("max_over_time(e2e_requests_total{instance=\"i4\"}[1h])") == Double(39 * 5 * 3))
        }
    }
}
