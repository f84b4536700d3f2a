import Formats
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// One `bench chaos` run: the scratch directory, the tmpfs, the node process
/// and the writers. `tearDown` undoes all of it whatever happened.
final class ChaosRun {
    static let tenant = "chaos"
    let binary: String
    let work: String
    let data: String
    private var mounted = false
    private var node: Process?
    private var port = 0

    init(binary: String, diskMib: Int) throws {
        self.binary = binary
        var template = Array("/tmp/muninn-chaos-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw ChaosError("mkdtemp /tmp/muninn-chaos-XXXXXX: \(String(cString: strerror(errno)))")
        }
        work = String(cString: made)
        data = work + "/data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: false)
        try Self.command("/bin/mount", ["-t", "tmpfs", "-o", "size=\(diskMib)m", "tmpfs", data])
        mounted = true
        say("work_dir=\(work)")
    }

    func tearDown() {
        if let node, node.isRunning { kill(node.processIdentifier, SIGKILL); node.waitUntilExit() }
        if mounted { try? Self.command("/bin/umount", ["-l", data]) }
        mounted = false
        try? FileManager.default.removeItem(atPath: work)
    }

    struct Outcome {
        var totals: String
        var passed: Bool
    }

    func drive(seed: UInt64, duration: Int, maxTrials: Int, writers count: Int, series: Int) throws -> Outcome {
        var rng = ChaosRandom(state: seed)
        let target = ChaosTarget()
        let stats = ChaosStats()
        try start(target)
        let base = Int64(Date().timeIntervalSince1970 * 1000) - 60_000
        let writers = (0..<count).map { ChaosWriter(id: $0, series: series, base: base) }
        let group = DispatchGroup()
        let stop = ChaosFlag()
        for writer in writers {
            group.enter()
            Thread {
                writer.run(target: target, stats: stats, stop: stop); group.leave()
            }.start()
        }
        var lost = Set<LostSample>()
        var trial = 0, kills = 0, terms = 0, diskFull = 0, failures = 0
        func fail(_ message: String) {
            failures += 1
            say("failure: \(message)")
            say("node log tail:\n\(logTail())")
        }
        let end = Date().addingTimeInterval(TimeInterval(duration))
        while Date() < end, maxTrials == 0 || trial < maxTrials, !ChaosInterrupt.requested, failures == 0 {
            trial += 1
            pause(milliseconds: rng.pick(500...3_000))
            let fault = rng.pick(0...2)
            let clock = ContinuousClock.now
            var detail = ""
            switch fault {
            case 0, 1:
                guard let node else { fail("no node to signal"); continue }
                let signal = fault == 0 ? SIGKILL : SIGTERM
                if fault == 0 { kills += 1 } else { terms += 1 }
                kill(node.processIdentifier, signal)
                guard Self.waitExit(node, seconds: 60) else { fail("node did not exit within 60 s of signal \(signal)"); continue }
                target.set(nil)
                if fault == 1, node.terminationReason != .exit || node.terminationStatus != 0 {
                    fail("SIGTERM: node exited with \(node.terminationReason == .exit ? "status" : "signal") \(node.terminationStatus)")
                }
                do { try start(target) } catch { fail("restart: \(error)"); continue }
                detail = "restart_ms=\(Self.milliseconds(since: clock))"
            default:
                diskFull += 1
                let refusedBefore = stats.count(503)
                let filled = fillDisk()
                pause(milliseconds: rng.pick(2_000...5_000))
                let refused = stats.count(503) - refusedBefore
                try? FileManager.default.removeItem(atPath: data + "/.chaos-filler")
                let ackedAtFree = stats.ackedSamples
                let resumed = Self.poll(seconds: 60) { stats.ackedSamples > ackedAtFree }
                if !resumed { fail("pushes did not get 204 within 60 s of the disk getting space back") }
                detail = "filled_bytes=\(filled) refused_503=\(refused) resume_ms=\(Self.milliseconds(since: clock))"
            }
            let check = verify(writers, target: target)
            lost.formUnion(check.lost)
            if let error = check.error { fail(error) }
            let names = ["sigkill", "sigterm", "disk_full"]
            say("trial=\(trial) fault=\(names[fault]) \(detail) checked=\(check.checked) lost=\(check.lost.count) verify_ms=\(check.milliseconds)")
            for sample in check.lost.prefix(5) { say("  lost: \(sample)") }
        }
        stop.set()
        group.wait()
        let final = verify(writers, target: target)
        lost.formUnion(final.lost)
        if let error = final.error { fail(error) }
        say("final checked=\(final.checked) lost=\(final.lost.count)")
        if let node {
            kill(node.processIdentifier, SIGTERM)
            if !Self.waitExit(node, seconds: 60) || node.terminationReason != .exit || node.terminationStatus != 0 {
                fail("final SIGTERM: the node did not exit 0")
            }
        }
        let unexpected = stats.unexpected
        for example in stats.unexpectedExamples { say("unexpected: \(example)") }
        let totals =
            "trials=\(trial) kills=\(kills) terms=\(terms) disk_full=\(diskFull) acked=\(stats.ackedSamples) lost=\(lost.count) unexpected_status=\(unexpected) failures=\(failures) statuses=\(stats.summary)"
        return Outcome(totals: totals, passed: lost.isEmpty && unexpected == 0 && failures == 0)
    }

    // MARK: - The node

    private func start(_ target: ChaosTarget) throws {
        port = Int(try BenchClient.freePort())
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [
            "node", "--http-address", "127.0.0.1", "--http-port", String(port),
            "--data-dir", data, "--bucket-dir", work + "/bucket"
        ]
        let log = work + "/node.log"
        if !FileManager.default.fileExists(atPath: log) { _ = FileManager.default.createFile(atPath: log, contents: nil) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        node = process
        let url = "http://127.0.0.1:\(port)"
        let ready = Self.poll(seconds: 120) {
            !process.isRunning || ChaosHTTP.request(url + "/ready", method: "GET", body: nil, headers: [:], timeout: 2).status == 200
        }
        guard ready, process.isRunning else {
            throw ChaosError(process.isRunning ? "node not ready within 120 s" : "node exited with \(process.terminationStatus) while starting")
        }
        target.set(url)
    }

    private func logTail() -> String {
        let text = (try? String(contentsOfFile: work + "/node.log", encoding: .utf8)) ?? ""
        return String(text.suffix(3000))
    }

    /// Writes a filler file until the tmpfs refuses with ENOSPC; its size.
    private func fillDisk() -> Int {
        let fd = open(data + "/.chaos-filler", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        var total = 0
        for size in [1 << 20, 4096, 1] {
            let block = [UInt8](repeating: 0x5a, count: size)
            while block.withUnsafeBytes({ write(fd, $0.baseAddress, size) }) > 0 { total += size }
        }
        return total
    }

    // MARK: - Verification

    struct LostSample: Hashable, CustomStringConvertible {
        var writer: Int, series: Int, timestamp: Int64
        var description: String { "writer=\(writer) series=\(series) timestamp=\(timestamp)" }
    }

    struct Check {
        var checked = 0
        var lost = Set<LostSample>()
        var error: String?
        var milliseconds = 0
    }

    /// Reads back each writer's series over the span of its acknowledged
    /// pushes; every acknowledged (timestamp, value) must be there exactly.
    private func verify(_ writers: [ChaosWriter], target: ChaosTarget) -> Check {
        let clock = ContinuousClock.now
        var check = Check()
        guard let url = target.url else { check.error = "no node to read from"; return check }
        for writer in writers {
            let acked = writer.acknowledged()
            guard let first = acked.first, let last = acked.last else { continue }
            let stored: [String: [Sample]]
            do { stored = try read(url, writer: writer.id, from: first, to: last) } catch {
                check.error = "remote read of writer \(writer.id): \(error)"
                break
            }
            for s in 0..<writer.labels.count {
                let samples = stored[String(s)] ?? []
                var j = 0
                for t in acked {
                    while j < samples.count, samples[j].timestamp < t { j += 1 }
                    let expected = writer.value(t, series: s).bitPattern
                    if j == samples.count || samples[j].timestamp != t || samples[j].value.bitPattern != expected {
                        check.lost.insert(LostSample(writer: writer.id, series: s, timestamp: t))
                    }
                }
                check.checked += acked.count
            }
        }
        check.milliseconds = Self.milliseconds(since: clock)
        return check
    }

    /// One streamed remote read of writer `id`'s series, by their `s` label.
    /// A few retries: the node may still be settling after a fault.
    private func read(_ url: String, writer id: Int, from: Int64, to: Int64) throws -> [String: [Sample]] {
        let query = RemoteReadRequest.Query(
            startMs: from, endMs: to,
            matchers: [
                try LabelMatcher(.equal, "__name__", "chaos"), try LabelMatcher(.equal, "w", String(id))
            ])
        let body = RemoteReadRequest(queries: [query], acceptedResponseTypes: [.streamedXORChunks]).snappyBody()
        let headers = [
            "Content-Type": RemoteRead.protobufContentType, "Content-Encoding": RemoteRead.contentEncoding,
            "X-Prometheus-Remote-Read-Version": RemoteRead.version, "X-Scope-OrgID": Self.tenant
        ]
        var last = ""
        for attempt in 0..<5 {
            if attempt > 0 { usleep(1_000_000) }
            let reply = ChaosHTTP.request(url + "/api/v1/read", method: "POST", body: body, headers: headers, timeout: 120)
            guard reply.status == 200 else { last = "status \(reply.status): \(reply.text.prefix(300))"; continue }
            return try ChaosRead.samples(stream: reply.body)
        }
        throw ChaosError(last)
    }

    // MARK: - Helpers

    private func pause(milliseconds: Int) {
        let deadline = Date().addingTimeInterval(Double(milliseconds) / 1000)
        while Date() < deadline, !ChaosInterrupt.requested { usleep(50_000) }
    }

    static func poll(seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(50_000)
        }
        return condition()
    }

    static func waitExit(_ process: Process, seconds: Double) -> Bool {
        poll(seconds: seconds) { !process.isRunning }
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> Int {
        let d = ContinuousClock.now - start
        return Int(d.components.seconds) * 1000 + Int(d.components.attoseconds / 1_000_000_000_000_000)
    }

    static func command(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ChaosError("\(executable) \(arguments.joined(separator: " ")) exited \(process.terminationStatus)")
        }
    }
}

struct ChaosError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
