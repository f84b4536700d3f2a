import Formats
import Foundation
import Testing

/// `POST /ingester/shutdown` under continuous pushes: writes stop before the
/// flush, so when it answers 204 every acknowledged sample is in a block —
/// nothing only in the WAL, which a scale-down deletes with the disk.
@Suite(.serialized) struct ShutdownRequestTests {
    @Test func everyAcknowledgedSampleIsInABlockAfterShutdownRequest() throws {
        let dir = temporaryDirectory("node-shutdown-request")
        let (node, port) = try startNode(dir)
        let url = "http://127.0.0.1:\(port)/api/v1/push"
        let lock = NSLock()
        nonisolated(unsafe) var acked: [Int64] = []
        nonisolated(unsafe) var others: [Int] = []
        nonisolated(unsafe) var stop = false
        let start = Int64(Date().timeIntervalSince1970 * 1000) - 60_000
        let done = DispatchSemaphore(value: 0)
        Thread {
            var t = start
            while !lock.withLock({ stop }) {
                t += 1
                let body = Data(
                    RemoteWrite.encode(
                        RemoteWriteRequest(series: [
                            RemoteWriteSeries(labels: Labels(["__name__": "load", "w": "0"]), samples: [Sample(timestamp: t, value: Double(t))])
                        ])))
                let status = HTTP.request(url, method: "POST", headers: ["X-Scope-OrgID": "t"], body: body, timeout: 10)?.status ?? 0
                lock.withLock { if status == 204 { acked.append(t) } else { others.append(status) } }
            }
            done.signal()
        }.start()
        // Let some pushes land first.
        let deadline = Date().addingTimeInterval(20)
        while lock.withLock({ acked.count }) < 50, Date() < deadline { usleep(10_000) }
        let reply = HTTP.request("http://127.0.0.1:\(port)/ingester/shutdown", method: "POST", timeout: 60)
        #expect(reply?.status == 204, "\(reply?.text ?? "no answer")")
        lock.withLock { stop = true }
        done.wait()
        #expect(node.stop(SIGTERM, timeout: 30) == 0, "\(node.output)")
        // Only blocks count: drop the logs, then dump what the blocks hold.
        try FileManager.default.removeItem(atPath: dir + "/tsdb/t/wal")
        try? FileManager.default.removeItem(atPath: dir + "/tsdb/t/wbl")
        let dump = try muninn(["blocks", "dump", dir + "/tsdb/t"])
        #expect(dump.status == 0, "\(dump.stderr)")
        let stored = Set(dump.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").last.flatMap { Int64($0) } })
        let (ack, other) = lock.withLock { (acked, others) }
        #expect(ack.count >= 50)
        let missing = ack.filter { !stored.contains($0) }
        #expect(missing.isEmpty, "\(missing.count) of \(ack.count) acknowledged samples are in no block: \(missing.prefix(5))")
        // After writes stopped, pushes get 503 or a closed connection (status 0), never 5xx others.
        #expect(other.allSatisfy { $0 == 503 || $0 == 0 }, "\(Set(other))")
    }
}
