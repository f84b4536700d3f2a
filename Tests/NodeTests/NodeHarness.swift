import Foundation
import TestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

enum HTTP {
    struct Reply {
        var status: Int
        var body: Data
        var headers: [String: String] = [:]
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// A blocking HTTP request on loopback.
    static func request(
        _ url: String, method: String = "GET", headers: [String: String] = [:],
        body: Data? = nil, timeout: TimeInterval = 10
    ) -> Reply? {
        var request = URLRequest(url: URL(string: url)!, timeoutInterval: timeout)
        request.httpMethod = method
        request.httpBody = body
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var reply: Reply?
        URLSession.shared.dataTask(with: request) { data, response, _ in
            if let http = response as? HTTPURLResponse {
                var headers: [String: String] = [:]
                for case (let name as String, let value as String) in http.allHeaderFields { headers[name.lowercased()] = value }
                reply = Reply(status: http.statusCode, body: data ?? Data(), headers: headers)
            }
            done.signal()
        }.resume()
        done.wait()
        return reply
    }

    /// Polls until `url` answers 200.
    static func waitReady(_ url: String, timeout: TimeInterval = 60) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if request(url, timeout: 1)?.status == 200 { return true }
            usleep(100_000)
        }
        return false
    }
}

/// Polls until `condition` holds; false when `timeout` passes first.
func poll(timeout: TimeInterval = 60, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        usleep(100_000)
    }
    return try condition()
}

/// A free loopback port (bind to 0, read it back, close).
func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return Int(UInt16(bigEndian: addr.sin_port))
}

func temporaryDirectory(_ name: String) -> String {
    Scratch.directory(name).path
}

/// Starts `muninn node` on a free port and waits for /ready. The bucket is
/// `<dataDir>-bucket` unless `extra` names one (the default is relative to the
/// working directory).
func startNode(_ dataDir: String, extra: [String] = []) throws -> (ChildProcess, Int) {
    let port = freePort()
    let bucket = extra.contains("--bucket-dir") ? [] : ["--bucket-dir", dataDir + "-bucket"]
    let node = try Subprocess.start(
        muninnBinary().path,
        [
            "node", "--http-address", "127.0.0.1", "--http-port", String(port),
            "--data-dir", dataDir
        ] + bucket + extra,
        output: .file(URL(fileURLWithPath: dataDir + "-node.log")))
    guard HTTP.waitReady("http://127.0.0.1:\(port)/ready") else {
        node.stop(SIGKILL)
        throw NodeTestError(description: "node did not become ready:\n\(node.output)")
    }
    return (node, port)
}

struct NodeTestError: Error, CustomStringConvertible { var description: String }

/// A blocking TCP connection to 127.0.0.1:`port` whose reads and writes give
/// up after `timeoutSeconds`; the caller closes it.
func connectLoopback(port: Int, timeoutSeconds: Int) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw NodeTestError(description: "socket: errno \(errno)") }
    var wait = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = UInt16(port).bigEndian
    let connected = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else {
        let e = errno
        close(fd)
        throw NodeTestError(description: "connect to 127.0.0.1:\(port): errno \(e)")
    }
    return fd
}

/// Parent of every suite that runs nodes, Prometheus or crash writers: they run
/// one at a time (`.serialized` covers nested suites), so load from one does not
/// starve another's processes on a small machine. Their waits poll for
/// conditions; this keeps the whole run from crawling, it is not what makes
/// them correct.
@Suite(.serialized) enum NodeProcessSuites {}
