import CStorage
import Formats
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// One writer thread of `bench chaos`. It owns its series and advances its
/// own timestamp by 1 ms per push, whatever the answer, so per-series order
/// holds across restarts and no timestamp is sent twice. The timestamps of
/// pushes answered 204 are the acknowledged samples.
final class ChaosWriter: @unchecked Sendable {
    let id: Int
    let labels: [Labels]
    private let base: Int64
    private let lock = NSLock()
    private var acked: [Int64] = []

    init(id: Int, series: Int, base: Int64) {
        self.id = id
        self.base = base
        labels = (0..<series).map {
            Labels([Label("__name__", "chaos"), Label("w", String(id)), Label("s", String($0))])
        }
    }

    /// Exact in a Double (series < 16384, offsets far below 2^38), and
    /// different per series and per timestamp.
    func value(_ t: Int64, series: Int) -> Double { Double(t - base) + Double(series) / 16384 }

    func acknowledged() -> [Int64] { lock.withLock { acked } }

    func run(target: ChaosTarget, stats: ChaosStats, stop: ChaosFlag) {
        var t = base
        let headers = [
            "Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
            "X-Prometheus-Remote-Write-Version": "0.1.0", "X-Scope-OrgID": ChaosRun.tenant
        ]
        while !stop.isSet {
            guard let url = target.url else { usleep(20_000); continue }
            t += 1
            let request = RemoteWriteRequest(
                series: labels.indices.map {
                    RemoteWriteSeries(labels: labels[$0], samples: [Sample(timestamp: t, value: value(t, series: $0))])
                })
            let reply = ChaosHTTP.request(
                url + "/api/v1/push", method: "POST", body: RemoteWrite.encode(request),
                headers: headers, timeout: 30)
            if reply.status == 204 {
                let ts = t
                lock.withLock { acked.append(ts) }
                stats.add(reply, samples: labels.count)
            } else {
                stats.add(reply, samples: 0)
                usleep(20_000)
            }
        }
    }
}

/// The node's current base URL; nil while it is down between a fault and
/// its restart.
final class ChaosTarget: @unchecked Sendable {
    private let lock = NSLock()
    private var current: String?
    var url: String? { lock.withLock { current } }
    func set(_ url: String?) { lock.withLock { current = url } }
}

final class ChaosFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}

/// Push answers by status. 204, 503 (disk full, starting, stopping) and no
/// answer (node down) are what faults cause; anything else is unexpected.
final class ChaosStats: @unchecked Sendable {
    private let lock = NSLock()
    private var statuses: [Int: Int] = [:]
    private var acked = 0
    private var examples: [String] = []

    func add(_ reply: ChaosHTTP.Reply, samples: Int) {
        lock.withLock {
            statuses[reply.status, default: 0] += 1
            acked += samples
            if ![0, 204, 503].contains(reply.status), examples.count < 5 {
                examples.append("status \(reply.status): \(reply.text.prefix(300))")
            }
        }
    }

    func count(_ status: Int) -> Int { lock.withLock { statuses[status] ?? 0 } }
    var ackedSamples: Int { lock.withLock { acked } }
    var unexpected: Int { lock.withLock { statuses.filter { ![0, 204, 503].contains($0.key) }.values.reduce(0, +) } }
    var unexpectedExamples: [String] { lock.withLock { examples } }
    /// `204:n,503:n,0:n` (0: no HTTP answer).
    var summary: String {
        lock.withLock { statuses.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ",") }
    }
}

/// Blocking loopback HTTP for the writer threads and the verifier.
enum ChaosHTTP {
    struct Reply: Sendable {
        /// 0 when no HTTP answer came (refused, reset, timed out).
        var status = 0
        var body: [UInt8] = []
        /// Why no answer came.
        var error = ""
        var text: String { status == 0 ? error : String(decoding: body, as: UTF8.self) }
    }

    final class Box: @unchecked Sendable { var reply = Reply() }

    static func request(_ url: String, method: String, body: [UInt8]?, headers: [String: String], timeout: TimeInterval) -> Reply {
        var request = URLRequest(url: URL(string: url)!, timeoutInterval: timeout)
        request.httpMethod = method
        request.httpBody = body.map { Data($0) }
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        let done = DispatchSemaphore(value: 0)
        let box = Box()
        URLSession.shared.dataTask(with: request) { data, response, error in
            if let http = response as? HTTPURLResponse {
                box.reply = Reply(status: http.statusCode, body: data.map { [UInt8]($0) } ?? [])
            } else {
                box.reply.error = error.map { "\($0)" } ?? "no response"
            }
            done.signal()
        }.resume()
        done.wait()
        return box.reply
    }
}

/// The remote-read side of `bench chaos`: a snappy request, and a
/// STREAMED_XOR_CHUNKS response decoded frame by frame (curl, under
/// URLSession, refuses a snappy `Content-Encoding`, so SAMPLES is out).
enum ChaosRead {
    /// Samples per `s` label from a stream of frames (uvarint length, CRC-32C,
    /// ChunkedReadResponse), each series' samples in time order.
    static func samples(stream: [UInt8]) throws -> [String: [Sample]] {
        var out: [String: [Sample]] = [:]
        var reader = Reader(bytes: stream[...])
        while !reader.atEnd {
            let length = try reader.varint()
            let crc = try reader.take(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            let frame = try reader.take(length)
            guard frame.withUnsafeBytes({ cs_crc32c(0, $0.baseAddress, $0.count) }) == crc else {
                throw ChaosError("frame CRC mismatch at offset \(reader.at - frame.count)")
            }
            for series in try fields(frame) where series.number == 1 {
                var name = ""
                var samples: [Sample] = []
                for field in try fields(series.bytes) {
                    if field.number == 1 {
                        let label = try fields(field.bytes)
                        let key = label.first { $0.number == 1 }.map { String(decoding: $0.bytes, as: UTF8.self) }
                        if key == "s" { name = label.first { $0.number == 2 }.map { String(decoding: $0.bytes, as: UTF8.self) } ?? "" }
                    } else if field.number == 2 {
                        let chunk = try fields(field.bytes)
                        guard chunk.first(where: { $0.number == 3 })?.varint == 1 else { throw ChaosError("a chunk that is not XOR") }
                        let data = chunk.first { $0.number == 4 }?.bytes ?? []
                        samples += try XORChunk(bytes: Array(data)).samples()
                    }
                }
                out[name, default: []] += samples
            }
        }
        return out.mapValues { $0.sorted { $0.timestamp < $1.timestamp } }
    }

    struct Field {
        var number: UInt64
        var varint: UInt64 = 0
        var bytes: ArraySlice<UInt8> = []
    }

    /// The fields of one message (fixed-width ones skipped).
    static func fields(_ bytes: ArraySlice<UInt8>) throws -> [Field] {
        var reader = Reader(bytes: bytes)
        var out: [Field] = []
        while !reader.atEnd {
            let key = try reader.varint()
            switch key & 7 {
            case 0: out.append(Field(number: key >> 3, varint: try reader.varint()))
            case 1: _ = try reader.take(8)
            case 5: _ = try reader.take(4)
            case 2: out.append(Field(number: key >> 3, bytes: try reader.take(try reader.varint())))
            default: throw ChaosError("wire type \(key & 7) at offset \(reader.at) of the read response")
            }
        }
        return out
    }

    struct Reader {
        var bytes: ArraySlice<UInt8>
        var at: Int
        init(bytes: ArraySlice<UInt8>) { self.bytes = bytes; at = bytes.startIndex }
        var atEnd: Bool { at >= bytes.endIndex }

        mutating func varint() throws -> UInt64 {
            var v: UInt64 = 0
            for shift in Swift.stride(from: UInt64(0), to: 64, by: 7) where at < bytes.endIndex {
                let b = bytes[at]
                at += 1
                v |= UInt64(b & 0x7f) << shift
                if b < 0x80 { return v }
            }
            throw ChaosError("malformed varint at offset \(at) of the read response")
        }

        mutating func take(_ count: UInt64) throws -> ArraySlice<UInt8> {
            guard count <= UInt64(bytes.endIndex - at) else { throw ChaosError("field past the end of the read response") }
            defer { at += Int(count) }
            return bytes[at..<(at + Int(count))]
        }
    }
}
