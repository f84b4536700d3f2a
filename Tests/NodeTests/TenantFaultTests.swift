import Engine
import Formats
import Foundation
import Testing

/// Timestamps at the ends of Int64 and tenants that fail to open, against a
/// running node: it answers with the reason and stays up across restarts and
/// maintenance passes.
@Suite(.serialized) struct TenantFaultTests {
    static let push = ["Content-Type": "application/x-protobuf", "Content-Encoding": "snappy"]

    static func body(_ series: [(Labels, [Int64])]) -> Data {
        Data(
            RemoteWrite.encode(
                RemoteWriteRequest(
                    series: series.map {
                        RemoteWriteSeries(labels: $0.0, samples: $0.1.map { Sample(timestamp: $0, value: 1) })
                    })))
    }

    /// The WAL a version before the grace periods wrote after accepting one push
    /// of -2^63, now and Int64.max.
    static func writeOldWAL(_ dataDir: String, tenant: String, now: Int64) throws {
        let (wal, _) = try WAL.open(directory: dataDir + "/tsdb/" + tenant + "/wal", options: WALOptions(fsync: .never))
        try wal.log(.series([WALSeries(ref: 1, labels: Labels(["__name__": "old"])), WALSeries(ref: 2, labels: Labels(["__name__": "edge"]))]))
        try wal.log(
            .samples([
                WALSample(ref: 1, timestamp: .min, value: 1), WALSample(ref: 1, timestamp: now, value: 2),
                WALSample(ref: 2, timestamp: .max, value: 3)
            ]))
        try wal.close()
    }

    /// Whether the bucket holds a block of `tenant`.
    static func shipped(_ bucket: String, _ tenant: String) -> Bool {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: bucket + "/" + tenant)) ?? []
        return names.contains { ULID($0) != nil && Files.exists(bucket + "/" + tenant + "/" + $0 + "/meta.json") }
    }

    static func waitUntil(_ timeout: TimeInterval = 60, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(100_000)
        }
        return condition()
    }

    @Test func extremeTimestampsAreRefusedAndOldWALsHoldingThemDoNotCrashTheNode() throws {
        let dir = temporaryDirectory("node-extreme")
        let bucket = dir + "-bucket"
        let config = dir + "-muninn.yml"
        // Idle heads are flushed and shipped on the next pass: a block in the
        // bucket shows a pass ran over the tenant.
        try "storage:\n  maintenanceIntervalSeconds: 1\n  idleFlushSeconds: 1\n".write(toFile: config, atomically: true, encoding: .utf8)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        try Self.writeOldWAL(dir, tenant: "old", now: now)
        let args = ["--config", config, "--bucket-dir", bucket]

        var (node, port) = try startNode(dir, extra: args)
        let base = "http://127.0.0.1:\(port)"
        let reply = HTTP.request(
            base + "/api/v1/push", method: "POST", headers: Self.push.merging(["X-Scope-OrgID": "fresh"]) { $1 },
            body: Self.body([(Labels(["__name__": "x"]), [.min, now]), (Labels(["__name__": "y"]), [.max])]))
        #expect(reply?.status == 400, "\(reply?.text ?? "no reply")")
        #expect(reply?.text.contains("sample-too-far-in-past") == true, "\(reply?.text ?? "")")
        #expect(reply?.text.contains("and 1 more rejected samples (1 samples stored)") == true, "\(reply?.text ?? "")")
        let names = HTTP.request(base + "/api/v1/label/__name__/values", headers: ["X-Scope-OrgID": "fresh"])
        #expect(names?.status == 200 && names?.text.contains(#"["x"]"#) == true, "\(names?.text ?? "")")
        #expect(
            Self.waitUntil { Self.shipped(bucket, "old") && Self.shipped(bucket, "fresh") },
            "maintenance flushed and shipped both tenants:\n\(node.output)")
        #expect(node.process.isRunning, "\(node.output)")
        #expect(node.stop() == 0, "\(node.output)")

        // Another tenant's old WAL, replayed at the restart, then maintained.
        try Self.writeOldWAL(dir, tenant: "old2", now: now)
        (node, port) = try startNode(dir, extra: args)
        defer { node.stop() }
        #expect(Self.waitUntil { Self.shipped(bucket, "old2") }, "\(node.output)")
        #expect(node.process.isRunning, "\(node.output)")
        #expect(HTTP.request("http://127.0.0.1:\(port)/ready")?.status == 200)
        let old = HTTP.request("http://127.0.0.1:\(port)/api/v1/series?match[]=old", headers: ["X-Scope-OrgID": "old2"])
        #expect(old?.status == 200 && old?.text.contains("\"old\"") == true, "\(old?.text ?? "")")
    }

    /// A tenant whose WAL cannot be read does not stop the node: its requests
    /// get 503 with the reason, the others are served, and once the fault is
    /// gone a later request opens it.
    @Test func aTenantThatFailsToOpenGets503AndRecovers() throws {
        let dir = temporaryDirectory("node-broken-tenant")
        _ = try preload(dir, tenant: "good", minutes: 1)
        _ = try preload(dir, tenant: "bad", minutes: 1)
        let wal = dir + "/tsdb/bad/wal"
        try FileManager.default.moveItem(atPath: wal, toPath: dir + "/bad-wal")
        _ = FileManager.default.createFile(atPath: wal, contents: Data("not a directory".utf8))

        let (node, port) = try startNode(dir)
        defer { node.stop() }
        let base = "http://127.0.0.1:\(port)"
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        func push(_ tenant: String) -> HTTP.Reply? {
            HTTP.request(
                base + "/api/v1/push", method: "POST", headers: Self.push.merging(["X-Scope-OrgID": tenant]) { $1 },
                body: Self.body([(Labels(["__name__": "later"]), [now])]))
        }
        let refused = push("bad")
        #expect(refused?.status == 503, "\(refused?.text ?? "no reply")")
        #expect(refused?.text.contains("the database of tenant bad failed to open") == true, "\(refused?.text ?? "")")
        #expect(refused?.text.contains(dir) == false, "no paths in the answer")
        #expect(HTTP.request(base + "/api/v1/labels", headers: ["X-Scope-OrgID": "bad"])?.status == 503)
        #expect(push("good")?.status == 204)
        let metrics = HTTP.request(base + "/metrics")?.text ?? ""
        #expect(metrics.contains("muninn_unavailable_tenants 1"), "\(metrics)")
        #expect(metrics.contains("muninn_tenant_open_failures_total"), "\(metrics)")
        #expect(node.output.contains("tenant database failed to open"))

        try FileManager.default.removeItem(atPath: wal)
        try FileManager.default.moveItem(atPath: dir + "/bad-wal", toPath: wal)
        #expect(Self.waitUntil { push("bad")?.status == 204 }, "a later request opens the tenant:\n\(node.output)")
        let labels = HTTP.request(base + "/api/v1/label/__name__/values", headers: ["X-Scope-OrgID": "bad"])
        #expect(labels?.text.contains("e2e_up") == true && labels?.text.contains("later") == true, "\(labels?.text ?? "")")
    }
}
