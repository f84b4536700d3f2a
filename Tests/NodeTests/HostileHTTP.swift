import Foundation

@testable import Formats

/// HTTP/1.1 written byte by byte on a socket, for the requests URLSession
/// refuses to send or rewrites: `..` in paths, non-UTF-8 targets and headers,
/// unknown methods, bodies shorter than their Content-Length.
enum RawHTTP {
    struct Reply {
        var status: Int
        var body: String
    }

    /// A request with `Connection: close` and a Content-Length (unless the
    /// headers carry their own); `sendBody: false` sends the headers only and
    /// half-closes, so the server sees the body end early.
    static func build(
        _ method: String, _ target: [UInt8], headers: [(String, [UInt8])] = [],
        body: [UInt8] = [], sendBody: Bool = true
    ) -> [UInt8] {
        var out = Array("\(method) ".utf8) + target + Array(" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n".utf8)
        let names = Set(headers.map { $0.0.lowercased() })
        if !names.contains("content-length"), !names.contains("transfer-encoding") {
            out += Array("Content-Length: \(body.count)\r\n".utf8)
        }
        for (name, value) in headers { out += Array("\(name): ".utf8) + value + Array("\r\n".utf8) }
        out += Array("\r\n".utf8)
        if sendBody { out += body }
        return out
    }

    /// Sends `bytes` on a new loopback connection and reads until the server
    /// closes it. nil when no status line came back (the server closed the
    /// connection, or nothing arrived within `timeout` seconds).
    static func exchange(port: Int, _ bytes: [UInt8], halfClose: Bool = false, timeout: Int = 30) -> Reply? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return nil }
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }  // the server may answer and close before reading everything
            sent += n
        }
        if halfClose { shutdown(fd, Int32(SHUT_WR)) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            received += buffer[0..<n]
        }
        let text = String(decoding: received, as: UTF8.self)
        let parts = text.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else { return nil }
        let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
        return Reply(status: status, body: body)
    }
}

/// Protobuf and snappy written by hand, for bodies no encoder of ours would
/// produce: non-UTF-8 labels, lengths far beyond the body, overlong varints.
enum RawProtobuf {
    static func varint(_ value: UInt64) -> [UInt8] {
        var v = value, out: [UInt8] = []
        while v >= 0x80 { out.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        return out + [UInt8(v)]
    }

    static func key(_ field: UInt64, _ wire: UInt64) -> [UInt8] { varint(field << 3 | wire) }

    static func delimited(_ field: UInt64, _ payload: [UInt8]) -> [UInt8] {
        key(field, 2) + varint(UInt64(payload.count)) + payload
    }

    static func label(_ name: [UInt8], _ value: [UInt8]) -> [UInt8] {
        delimited(1, delimited(1, name) + delimited(2, value))
    }

    static func sample(_ timestamp: Int64, _ value: Double) -> [UInt8] {
        var bits = value.bitPattern.littleEndian
        let double = withUnsafeBytes(of: &bits) { Array($0) }
        return delimited(2, key(1, 1) + double + key(2, 0) + varint(UInt64(bitPattern: timestamp)))
    }

    /// One TimeSeries of a WriteRequest.
    static func series(_ labels: [([UInt8], [UInt8])], _ samples: [(Int64, Double)]) -> [UInt8] {
        delimited(1, labels.flatMap { label($0.0, $0.1) } + samples.flatMap { sample($0.0, $0.1) })
    }

    static func snappy(_ protobuf: [UInt8]) -> [UInt8] { SnappyBlock.compress(protobuf) }
}
