import Engine
import Formats
import Foundation
import Testing

extension NodeProcessSuites {
    /// The node's endpoints and modes beyond plain pushes and queries: the
    /// `/api/v1/write` alias, `/ingester/flush` and `/ingester/shutdown`, shipping
    /// by the maintenance loop, 429 over the ingestion rate, `--no-multitenancy`.
    @Suite struct NodeEndpointTests {
        static func push(_ base: String, path: String = "/api/v1/push", tenant: String?, _ series: [(Labels, [Sample])]) -> HTTP.Reply? {
            let body = Data(RemoteWrite.encode(RemoteWriteRequest(series: series.map { RemoteWriteSeries(labels: $0.0, samples: $0.1) })))
            var headers = ["Content-Type": "application/x-protobuf", "Content-Encoding": "snappy"]
            if let tenant { headers["X-Scope-OrgID"] = tenant }
            return HTTP.request(base + path, method: "POST", headers: headers, body: body)
        }

        /// Block directories (ULID names) directly under `dir`.
        static func blocks(_ dir: String) -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { ULID($0) != nil }.sorted()
        }

        static var nowMs: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

        /// Samples pushed through the alias are stored; a flush writes them as a
        /// block, which the maintenance loop (every second here) ships to the bucket
        /// without any further request.
        @Test func writeAliasFlushAndMaintenanceShipping() throws {
            let dir = temporaryDirectory("node-flush"), bucket = dir + "-bucket"
            let config = try ConfigTests.write("storage:\n  maintenanceIntervalSeconds: 1\n")
            let (node, port) = try startNode(dir, extra: ["--config", config, "--bucket-dir", bucket])
            defer { node.stop() }
            let base = "http://127.0.0.1:\(port)"
            // Four samples inside one aligned 2 h range, so the flush writes one block.
            let now = Self.nowMs
            let first = max(now - 3_000, now / 7_200_000 * 7_200_000)
            let series = (0..<3).map {
                (
                    Labels(["__name__": "flushed", "i": String($0)]),
                    (0..<4).map { Sample(timestamp: first + Int64($0) * 1_000, value: Double($0)) }
                )
            }
            let reply = Self.push(base, path: "/api/v1/write", tenant: "fl", series)
            #expect(reply?.status == 204, "\(reply?.text ?? "no reply")")
            let stored = HTTP.request(base + "/api/v1/series?match%5B%5D=flushed", headers: ["X-Scope-OrgID": "fl"])
            #expect(stored?.text.components(separatedBy: "\"__name__\":\"flushed\"").count == 4, "\(stored?.text ?? "")")

            #expect(Self.blocks(dir + "/tsdb/fl").isEmpty)
            let flush = HTTP.request(base + "/ingester/flush", method: "POST", timeout: 60)
            #expect(flush?.status == 204, "\(flush?.text ?? "no reply")")
            let local = Self.blocks(dir + "/tsdb/fl")
            #expect(local.count == 1, "\(local)")
            #expect(HTTP.request(base + "/metrics")?.text.contains("muninn_blocks_cut_total 1") == true)
            // Still answered after the flush (now from the block).
            #expect(HTTP.request(base + "/api/v1/series?match%5B%5D=flushed", headers: ["X-Scope-OrgID": "fl"])?.text == stored?.text)

            let shipped = poll(timeout: 60) { FileManager.default.fileExists(atPath: "\(bucket)/fl/\(local.first ?? "-")/meta.json") }
            #expect(shipped, "the maintenance loop did not ship \(local) to \(bucket):\n\(node.output.suffix(2000))")
            guard shipped, let ulid = local.first else { return }
            let block = try BlockReader(directory: "\(bucket)/fl/\(ulid)")
            try block.verify()
            #expect(block.meta.stats.numSamples == 12 && block.meta.stats.numSeries == 3)
            #expect(block.meta.minTime <= first && block.meta.maxTime > first + 3_000)
        }

        /// Shutdown flushes the head into a block, then the node exits 0 by itself;
        /// a restart serves the samples from that block.
        @Test func shutdownFlushesAndStops() throws {
            let dir = temporaryDirectory("node-shutdown-endpoint")
            let (node, port) = try startNode(dir)
            let base = "http://127.0.0.1:\(port)"
            let now = Self.nowMs
            #expect(Self.push(base, tenant: "sd", [(Labels(["__name__": "kept"]), [Sample(timestamp: now, value: 42)])])?.status == 204)
            let reply = HTTP.request(base + "/ingester/shutdown", method: "POST", timeout: 60)
            #expect(reply?.status == 204, "\(reply?.text ?? "no reply")")
            let status = node.waitForExit(timeout: 60)
            #expect(status == 0, "exit status \(String(describing: status)):\n\(node.output.suffix(2000))")
            node.stop(SIGKILL)
            let blocks = Self.blocks(dir + "/tsdb/sd")
            #expect(blocks.count == 1, "\(blocks)")
            if let ulid = blocks.first {
                let block = try BlockReader(directory: "\(dir)/tsdb/sd/\(ulid)")
                #expect(block.meta.stats.numSamples == 1 && block.meta.minTime <= now && block.meta.maxTime > now)
            }

            let (again, port2) = try startNode(dir)
            defer { again.stop() }
            let series = HTTP.request("http://127.0.0.1:\(port2)/api/v1/series?match%5B%5D=kept", headers: ["X-Scope-OrgID": "sd"])
            #expect(series?.text == #"{"data":[{"__name__":"kept"}],"status":"success"}"#)
        }

        /// Over the tenant's ingestion rate the whole request gets 429 with the
        /// reason and nothing of it is stored; another tenant is unaffected.
        @Test func overTheIngestionRateIs429() throws {
            let dir = temporaryDirectory("node-429")
            // 1 sample/s refills the burst of 100 in 100 s: the second push below
            // cannot fit however slowly this machine runs.
            let config = try ConfigTests.write("overrides:\n  slow:\n    ingestionRate: 1\n    ingestionBurst: 100\n")
            let (node, port) = try startNode(dir, extra: ["--config", config])
            defer { node.stop() }
            let base = "http://127.0.0.1:\(port)"
            let now = Self.nowMs
            func hundred(_ name: String) -> [(Labels, [Sample])] {
                (0..<100).map { (Labels(["__name__": name, "i": String($0)]), [Sample(timestamp: now, value: 1)]) }
            }
            #expect(Self.push(base, tenant: "slow", hundred("first"))?.status == 204)
            let refused = Self.push(base, tenant: "slow", hundred("second"))
            #expect(refused?.status == 429, "\(refused?.status ?? 0) \(refused?.text ?? "")")
            #expect(
                refused?.text.contains("ingestion rate limit of 1 samples/s (burst 100) exceeded for tenant slow") == true,
                "\(refused?.text ?? "")")
            #expect(
                HTTP.request(base + "/api/v1/series?match%5B%5D=second", headers: ["X-Scope-OrgID": "slow"])?.text
                    == #"{"data":[],"status":"success"}"#)
            #expect(Self.push(base, tenant: "other", hundred("second"))?.status == 204)
            #expect(HTTP.request(base + "/metrics")?.text.contains(#"status="429""#) == true)
        }

        /// With multi-tenancy off every push lands in `anonymous`, whatever
        /// X-Scope-OrgID says, and queries need no tenant.
        @Test func noMultitenancyStoresEverythingAsAnonymous() throws {
            let dir = temporaryDirectory("node-anon")
            let (node, port) = try startNode(dir, extra: ["--no-multitenancy"])
            defer { node.stop() }
            let base = "http://127.0.0.1:\(port)"
            let now = Self.nowMs
            #expect(Self.push(base, tenant: nil, [(Labels(["__name__": "anon", "from": "none"]), [Sample(timestamp: now, value: 1)])])?.status == 204)
            #expect(
                Self.push(base, tenant: "team-x", [(Labels(["__name__": "anon", "from": "header"]), [Sample(timestamp: now, value: 2)])])?.status
                    == 204)
            let expected = #"{"data":[{"__name__":"anon","from":"header"},{"__name__":"anon","from":"none"}],"status":"success"}"#
            #expect(HTTP.request(base + "/api/v1/series?match%5B%5D=anon")?.text == expected)
            #expect(HTTP.request(base + "/api/v1/series?match%5B%5D=anon", headers: ["X-Scope-OrgID": "team-y"])?.text == expected)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/tsdb") == ["anonymous"])
        }
    }
}
