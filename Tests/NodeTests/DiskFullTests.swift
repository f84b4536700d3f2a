import Engine
import Formats
import Foundation
import TestSupport
import Testing

/// A real `muninn node` whose data directory is a small tmpfs: while the disk
/// is full pushes get a retryable 503 with `Retry-After` and /metrics shows the
/// tenant failing; once space returns pushes get 204 again without a restart,
/// and after a restart exactly the acknowledged samples are stored.
@Suite(.serialized) struct DiskFullTests {
    @Test(.enabled(if: SmallDisk.available, "mounting a tmpfs needs root"), arguments: ["always", "1000"])
    func pushesGet503WhileFullAnd204OnceSpaceReturns(walFsync: String) throws {
        let dir = temporaryDirectory("node-diskfull")
        let data = dir + "/data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        // The node's log stays outside the small disk (the harness writes it beside `data`).
        let disk = try SmallDisk(bytes: 2 << 20, at: data)
        defer { disk.unmount() }
        var (node, port) = try startNode(data, extra: ["--wal-fsync", walFsync])
        let base = "http://127.0.0.1:\(port)"
        let tenant = ["X-Scope-OrgID": "t"]
        let start = Int64(Date().timeIntervalSince1970 * 1000) - 600_000
        var acknowledged: [String: [Int64]] = [:]
        var attempt = 0
        /// One push of 20 new series and one more sample of a shared series.
        func push() -> HTTP.Reply? {
            attempt += 1
            let t = start + Int64(attempt)
            let names = (0..<20).map { "a\(attempt)-\($0)-" + String(repeating: "x", count: 40) } + ["shared"]
            let request = RemoteWriteRequest(
                series: names.map {
                    RemoteWriteSeries(labels: Labels(["__name__": "fill", "s": $0]), samples: [Sample(timestamp: t, value: Double(attempt))])
                })
            let reply = HTTP.request(base + "/api/v1/push", method: "POST", headers: tenant, body: Data(RemoteWrite.encode(request)))
            if reply?.status == 204 { for name in names { acknowledged[name, default: []].append(t) } }
            return reply
        }
        func metric(_ name: String) -> Double? {
            let text = HTTP.request(base + "/metrics")?.text ?? ""
            let line = text.split(separator: "\n").first { $0.hasPrefix(name + "{tenant=\"t\"}") }
            return line.flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }
        }

        for _ in 0..<50 { #expect(push()?.status == 204) }
        disk.fill()
        var refused: HTTP.Reply?
        for _ in 0..<5_000 where refused == nil {
            let reply = try #require(push())
            if reply.status != 204 { refused = reply }
        }
        let full = try #require(refused)
        #expect(full.status == 503, "\(full.text)")
        #expect(full.headers["retry-after"] != nil)
        #expect(full.text.contains("No space left on device"), "\(full.text)")
        #expect(!full.text.contains(data), "no absolute paths in replies: \(full.text)")
        #expect(push()?.status == 503)
        #expect(metric("muninn_storage_write_failing") == 1)
        #expect(HTTP.request(base + "/ready")?.status == 200, "reads are still served")
        #expect(node.output.contains("storage writes failing"))

        try disk.free()
        for _ in 0..<50 { #expect(push()?.status == 204) }
        #expect(metric("muninn_storage_write_failing") == 0)
        #expect((metric("muninn_storage_write_failures_total") ?? 0) >= 2)
        #expect(node.output.contains("storage writes resumed"))

        #expect(node.stop(SIGTERM) == 0, "\(node.output.suffix(2000))")
        (node, port) = try startNode(data, extra: ["--wal-fsync", walFsync])
        let series = HTTP.request("http://127.0.0.1:\(port)/api/v1/series?match%5B%5D=fill", headers: tenant)
        #expect(series?.status == 200)
        let listed = (try? JSONSerialization.jsonObject(with: series?.body ?? Data()) as? [String: Any])?["data"] as? [Any]
        #expect(listed?.count == acknowledged.count, "every acknowledged series is queryable after the restart")
        #expect(node.stop(SIGTERM) == 0)

        let db = try TenantDB.open(directory: data + "/tsdb/t", tenant: "t", options: DatabaseOptions(wal: WALOptions(fsync: .never)))
        defer { try? db.close() }
        var stored: [String: [Int64]] = [:]
        for s in try db.select(matchers: [try LabelMatcher(.equal, "__name__", "fill")]) {
            stored[s.labels["s"]!] = try s.samples().map(\.timestamp)
        }
        #expect(stored == acknowledged, "exactly the acknowledged samples, after a restart")
    }
}
