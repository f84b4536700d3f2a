import Engine
import Formats
import Foundation
import TestSupport
import Testing

extension NodeProcessSuites {
    /// Pushes from several threads continuously while the node is stopped with
    /// SIGTERM at random moments (10 times): it must exit 0 without a fatal error,
    /// every push answered 2xx must be stored after restart, and pushes during
    /// shutdown may only get 503 or a refused/closed connection.
    @Suite struct ShutdownUnderLoadTests {
        final class Ledger: @unchecked Sendable {
            private let lock = NSLock()
            private var acked: [String: Set<Int64>] = [:]
            private var unexpected: [String] = []
            private var pushes = 0
            func ack(_ series: [String], _ t: Int64) {
                lock.lock(); for s in series { acked[s, default: []].insert(t) }; pushes += 1; lock.unlock()
            }
            /// Pushes answered 204 so far.
            var acknowledgedPushes: Int { lock.lock(); defer { lock.unlock() }; return pushes }
            func oddity(_ s: String) { lock.lock(); unexpected.append(s); lock.unlock() }
            var snapshot: ([String: Set<Int64>], [String]) { lock.lock(); defer { lock.unlock() }; return (acked, unexpected) }
        }

        /// Each writer's last timestamp, carried across node restarts.
        final class Clocks: @unchecked Sendable {
            private let lock = NSLock()
            private var values: [Int64]
            init(count: Int, start: Int64) { values = [Int64](repeating: start, count: count) }
            func get(_ i: Int) -> Int64 { lock.lock(); defer { lock.unlock() }; return values[i] }
            func set(_ i: Int, _ v: Int64) { lock.lock(); values[i] = v; lock.unlock() }
        }

        /// SIGTERM: graceful, exit 0. SIGKILL: the process dies mid-write; after the
        /// restart every acknowledged sample must still be there.
        @Test(arguments: [SIGTERM, SIGKILL])
        func stopUnderLoadNeverLosesAcknowledgedSamples(signal: Int32) throws {
            let dir = temporaryDirectory("node-shutdown")
            let ledger = Ledger()
            let start = Int64(Date().timeIntervalSince1970 * 1000) - 600_000
            let seed = TestSeed.make()
            var rng = SplitMix64(seed: seed)
            let threads = 3
            let clocks = Clocks(count: threads, start: start)
            for round in 0..<10 {
                let tag = "seed \(seed), round \(round)"
                let (node, port) = try startNode(dir)
                let url = "http://127.0.0.1:\(port)/api/v1/push"
                let stop = NSLock()
                nonisolated(unsafe) var stopping = false
                let group = DispatchGroup()
                for w in 0..<threads {
                    group.enter()
                    let begin = clocks.get(w)
                    Thread {
                        var t = begin
                        while true {
                            stop.lock(); let done = stopping; stop.unlock()
                            if done { break }
                            t += 1
                            let names = (0..<20).map { "w\(w)-s\($0)" }
                            let request = RemoteWriteRequest(
                                series: names.map {
                                    RemoteWriteSeries(
                                        labels: Labels(["__name__": "load", "s": $0]), samples: [Sample(timestamp: t, value: Double(t))])
                                })
                            let reply = HTTP.request(
                                url, method: "POST", headers: ["X-Scope-OrgID": "load"],
                                body: Data(RemoteWrite.encode(request)), timeout: 10)
                            switch reply?.status {
                            case 204: ledger.ack(names, t)
                            case nil, 503: break  // refused, reset, or draining: the client retries
                            case let status?: ledger.oddity("\(tag): HTTP \(status) \(reply!.text)")
                            }
                        }
                        clocks.set(w, t)
                        group.leave()
                    }.start()
                }
                // Stop after a random number of acknowledged pushes (counted, not
                // timed, so a loaded machine stops at the same point), plus a random
                // fraction of a push.
                let target = ledger.acknowledgedPushes + Int.random(in: 1...40, using: &rng)
                let deadline = Date().addingTimeInterval(120)
                while ledger.acknowledgedPushes < target, Date() < deadline { usleep(1_000) }
                #expect(ledger.acknowledgedPushes >= target, "\(tag): no pushes acknowledged in 120 s")
                usleep(UInt32.random(in: 0..<5_000, using: &rng))
                let status = node.stop(signal, timeout: 30)
                stop.lock(); stopping = true; stop.unlock()
                group.wait()
                if signal == SIGTERM {
                    #expect(status == 0, "\(tag): exit \(status)\n\(node.output.suffix(2000))")
                }
                #expect(!node.output.contains("Fatal error"), "\(tag)")
            }
            let (acked, oddities) = ledger.snapshot
            #expect(oddities.isEmpty, "seed \(seed): \(oddities.prefix(5))")
            #expect(acked.count == 60 && acked.values.allSatisfy { $0.count > 10 }, "too few acknowledged pushes")

            let db = try TenantDB.open(directory: dir + "/tsdb/load", tenant: "load", options: DatabaseOptions(wal: WALOptions(fsync: .never)))
            var lost = 0
            for s in try db.select(matchers: [try LabelMatcher(.equal, "__name__", "load")]) {
                let stored = Set(try s.samples().map(\.timestamp))
                lost += acked[s.labels["s"]!, default: []].subtracting(stored).count
            }
            #expect(db.head.seriesCount == 60)
            #expect(lost == 0, "seed \(seed): \(lost) acknowledged samples missing")
            try db.close()
        }
    }
}
