import ArgumentParser
import Engine
import Formats
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `muninn bench push`: a remote-write load generator. Requests are encoded up
/// front (time-major: every scrape advances all series together); each
/// connection owns a slice of the series so per-series order is kept. Prints
/// `key=value` lines; Benchmarks/push-vs-prometheus-vm.sh runs it against
/// Muninn, Prometheus and VictoriaMetrics.
struct BenchPush: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push", abstract: "Send remote-write load to a receiver and report what it accepted.")

    @Option(help: "Receiver URL, e.g. http://127.0.0.1:8080/api/v1/push.") var url: String
    @Option(help: "File of label sets, one JSON object per line.") var labels: String
    @Option var series = 20_000
    @Option var scrapes = 60
    @Option(help: "Samples per request (Prometheus sends up to 2000).") var samplesPerRequest = 2000
    @Option var connections = 4
    @Option var tenant = "bench"

    func run() throws {
        var workload = try BenchHead.Workload.parse(["--labels", labels, "--series", String(series)])
        workload.series = series
        let sets = try workload.labelSets()
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let start = now - Int64(scrapes) * 15_000
        // Connection c sends series c, c + connections, … in scrape order.
        var plans: [[[UInt8]]] = Array(repeating: [], count: connections)
        let perRequest = max(1, samplesPerRequest)
        for c in 0..<connections {
            let mine = Swift.stride(from: c, to: sets.count, by: connections).map { sets[$0] }
            for scrape in 0..<scrapes {
                let t = start + Int64(scrape) * 15_000
                for lo in Swift.stride(from: 0, to: mine.count, by: perRequest) {
                    let part = mine[lo..<min(lo + perRequest, mine.count)]
                    plans[c].append(
                        RemoteWrite.encode(
                            RemoteWriteRequest(
                                series: part.map {
                                    RemoteWriteSeries(labels: $0, samples: [Sample(timestamp: t, value: Double(scrape))])
                                })))
                }
            }
        }
        let total = sets.count * scrapes
        let counts = Counts()
        let wall0 = Date()
        let group = DispatchGroup()
        for c in 0..<connections {
            group.enter()
            let requests = plans[c]
            let target = url, org = tenant
            Thread {
                for body in requests {
                    let status = Self.post(target, body: body, tenant: org)
                    counts.add(status)
                }
                group.leave()
            }.start()
        }
        group.wait()
        let wall = Date().timeIntervalSince(wall0)
        let (ok, failed, statuses) = counts.snapshot
        print("samples=\(total)")
        print("requests_ok=\(ok)")
        print("requests_failed=\(failed) \(statuses)")
        print("wall_seconds=\(fmt(wall))")
        print("samples_per_second=\(Int(Double(total) / wall))")
    }

    static func post(_ url: String, body: [UInt8], tenant: String) -> Int {
        var request = URLRequest(url: URL(string: url)!, timeoutInterval: 60)
        request.httpMethod = "POST"
        request.httpBody = Data(body)
        for (k, v) in [
            "Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
            "X-Prometheus-Remote-Write-Version": "0.1.0", "X-Scope-OrgID": tenant,
            "User-Agent": "muninn-bench/\(Muninn.version)"
        ] {
            request.setValue(v, forHTTPHeaderField: k)
        }
        let done = DispatchSemaphore(value: 0)
        let box = StatusBox()
        URLSession.shared.dataTask(with: request) { _, response, _ in
            box.status = (response as? HTTPURLResponse)?.statusCode ?? 0
            done.signal()
        }.resume()
        done.wait()
        return box.status
    }

    final class StatusBox: @unchecked Sendable { var status = 0 }

    final class Counts: @unchecked Sendable {
        private let lock = NSLock()
        private var ok = 0, failed = 0
        private var statuses: [Int: Int] = [:]
        func add(_ status: Int) {
            lock.lock(); defer { lock.unlock() }
            if (200..<300).contains(status) { ok += 1 } else { failed += 1; statuses[status, default: 0] += 1 }
        }
        var snapshot: (Int, Int, [Int: Int]) { lock.lock(); defer { lock.unlock() }; return (ok, failed, statuses) }
    }
}
