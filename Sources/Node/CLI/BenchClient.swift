import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A blocking HTTP/1.1 keep-alive client on one loopback TCP connection, for
/// latency benchmarks: a request's time is its own write and read, with no
/// connection pool or client event loop between the clock and the socket.
final class BenchClient {
    struct Failure: Error, CustomStringConvertible { let description: String }

    private let port: UInt16
    private let timeoutSeconds: Int
    private var fd: Int32 = -1
    private var buffer: [UInt8] = []
    /// The body of the last response.
    private(set) var lastBody: [UInt8] = []

    /// A request waiting longer than `timeoutSeconds` for its answer fails
    /// instead of hanging the benchmark.
    init(port: UInt16, timeoutSeconds: Int = 120) { self.port = port; self.timeoutSeconds = timeoutSeconds }
    deinit { if fd >= 0 { close(fd) } }

    /// Sends one request and returns the status code; reconnects when the
    /// server closed the connection.
    func send(_ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8] = []) throws -> Int {
        if fd < 0 { try connect() }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nContent-Length: \(body.count)\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        head += "\r\n"
        do {
            try write(Array(head.utf8) + body)
            return try readResponse()
        } catch {
            close(fd); fd = -1; buffer = []
            throw error
        }
    }

    private func connect() throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            close(fd); fd = -1
            throw Failure(description: "connect to 127.0.0.1:\(port): errno \(e)")
        }
    }

    private func write(_ bytes: [UInt8]) throws {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(description: "send: errno \(errno)") }
            off += n
        }
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { throw Failure(description: n == 0 ? "connection closed" : "recv: errno \(errno)") }
        buffer.append(contentsOf: chunk[..<n])
    }

    private func readLine() throws -> String {
        while true {
            if let i = buffer.firstIndex(of: 10) {
                let line = String(decoding: buffer[..<i], as: UTF8.self)
                buffer.removeFirst(i + 1)
                return line.hasSuffix("\r") ? String(line.dropLast()) : line
            }
            try fill()
        }
    }

    private func take(_ count: Int) throws -> ArraySlice<UInt8> {
        while buffer.count < count { try fill() }
        defer { buffer.removeFirst(count) }
        return buffer[..<count]
    }

    private func readResponse() throws -> Int {
        let status = try readLine().split(separator: " ")
        guard status.count >= 2, let code = Int(status[1]) else { throw Failure(description: "bad status line") }
        var length = 0, chunked = false, closing = false
        while case let line = try readLine(), !line.isEmpty {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard parts.count == 2 else { continue }
            switch parts[0] {
            case "content-length": length = Int(parts[1]) ?? 0
            case "transfer-encoding": chunked = parts[1].contains("chunked")
            case "connection": closing = parts[1] == "close"
            default: break
            }
        }
        lastBody = []
        if chunked {
            while let size = Int(try readLine(), radix: 16), size > 0 { lastBody += try take(size + 2).dropLast(2) }
            _ = try readLine()
        } else {
            lastBody = Array(try take(length))
        }
        if closing { close(fd); fd = -1; buffer = [] }
        return code
    }

    /// A port nothing listens on now (the kernel's choice for port 0).
    static func freePort() throws -> UInt16 {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(s) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, len) == 0 && getsockname(s, $0, &len) == 0 }
        }
        guard ok else { throw Failure(description: "no free port: errno \(errno)") }
        return UInt16(bigEndian: addr.sin_port)
    }
}
