import Foundation
import TestSupport
import Testing

@testable import Formats

/// Remote read and the JSON series APIs over HTTP against a real node with
/// small `read:` limits: every refusal names its limit, the node stays ready,
/// and STREAMED_XOR_CHUNKS carries the same samples as SAMPLES.
@Suite(.serialized) struct RemoteReadLimitTests {
    static let config = """
        read:
          maxQueries: 2
          maxSeries: 5
          maxSamples: 100
          maxBytesInFrame: 300
          maxLabelValues: 4

        """

    /// One series per label set: its samples, from a SAMPLES response or from the chunks of streamed frames.
    typealias Decoded = [[Labels: [Sample]]]

    static func request(_ queries: [(matchers: [LabelMatcher], start: Int64, end: Int64)], streamed: Bool) -> Data {
        let request = RemoteReadRequest(
            queries: queries.map { RemoteReadRequest.Query(startMs: $0.start, endMs: $0.end, matchers: $0.matchers) },
            acceptedResponseTypes: streamed ? [.streamedXORChunks] : [.samples])
        return Data(request.snappyBody())
    }

    static func labels(_ r: inout ProtobufReader) throws -> Label {
        var name = "", value = ""
        while let f = try r.nextField() {
            if f.number == 1 {
                name = try r.readString(f, "name")
            } else if f.number == 2 {
                value = try r.readString(f, "value")
            } else {
                try r.skip(f)
            }
        }
        return Label(name, value)
    }

    static func sampled(_ body: Data, queries: Int) throws -> Decoded {
        var out = Decoded(repeating: [:], count: queries)
        var r = ProtobufReader(try SnappyBlock.decompress([UInt8](body), maxDecodedBytes: .max))
        var index = 0
        while let f = try r.nextField() {
            var result = try r.readMessage(f, "results")
            while let g = try result.nextField() {
                var ts = try result.readMessage(g, "timeseries")
                var labels: [Label] = [], samples: [Sample] = []
                while let h = try ts.nextField() {
                    var m = try ts.readMessage(h, "field")
                    if h.number == 1 { labels.append(try Self.labels(&m)); continue }
                    var sample = Sample(timestamp: 0, value: 0)
                    while let k = try m.nextField() {
                        if k.number == 1 { sample.value = try m.readDouble(k, "value") } else { sample.timestamp = try m.readInt64(k, "timestamp") }
                    }
                    samples.append(sample)
                }
                out[index][Labels(sorted: labels)] = samples
            }
            index += 1
        }
        return out
    }

    /// Frames checked (length, CRC, size limit) and their chunks decoded, trimmed to each query's range.
    static func streamed(_ body: Data, ranges: [(Int64, Int64)], maxFrame: Int) throws -> Decoded {
        var out = Decoded(repeating: [:], count: ranges.count)
        let bytes = [UInt8](body)
        var at = 0
        while at < bytes.count {
            var header = ProtobufReader(Array(bytes[at...]))
            let length = Int(try header.readUvarint())
            let start = at + header.offset + 4
            try #require(start + length <= bytes.count, "frame at \(at) runs past the body")
            #expect(start + length - at <= maxFrame, "frame at \(at) is over maxBytesInFrame")
            let message = Array(bytes[start..<start + length])
            let crc = bytes[start - 4..<start].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            #expect(message.withUnsafeBytes { CRC32C.checksum($0) } == crc)
            var r = ProtobufReader(message)
            var query = 0, labels: [Label] = [], samples: [Sample] = []
            while let f = try r.nextField() {
                if f.number == 2 { query = Int(try r.readInt64(f, "query_index")); continue }
                var series = try r.readMessage(f, "chunked_series")
                while let g = try series.nextField() {
                    var m = try series.readMessage(g, "field")
                    if g.number == 1 { labels.append(try Self.labels(&m)); continue }
                    while let k = try m.nextField() {
                        if k.number == 4 { samples += try XORChunk(bytes: try m.readBytes(k, "data")).samples() } else { try m.skip(k) }
                    }
                }
            }
            let (mint, maxt) = ranges[query]
            out[query][Labels(sorted: labels), default: []] += samples.filter { $0.timestamp >= mint && $0.timestamp <= maxt }
            at = start + length
        }
        return out
    }

    /// HTTP/1.1 over a plain socket, one request per connection: URLSession
    /// (libcurl) refuses `Content-Encoding: snappy`, and a cut stream must show
    /// as cut rather than as a short body.
    struct RawReply {
        var status = 0
        var headers: [String: String] = [:]
        var body: [UInt8] = []
        /// The body ended as announced (the last chunk, or Content-Length bytes).
        var complete = false
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    static func post(port: Int, _ path: String, headers: [String: String], body: Data) throws -> RawReply {
        let fd = try connectLoopback(port: port, timeoutSeconds: 30)
        defer { close(fd) }
        var head = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: \(body.count)\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        let request = [UInt8]((head + "\r\n").utf8) + [UInt8](body)
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            try #require(n > 0, "send")
            sent += n
        }
        var raw: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            raw += buffer[0..<n]
        }
        let separator: [UInt8] = [13, 10, 13, 10]
        let end = try #require((0..<max(0, raw.count - 3)).first { Array(raw[$0..<$0 + 4]) == separator }, "no response head")
        let lines = String(decoding: raw[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
        var reply = RawReply()
        reply.status = Int(lines[0].split(separator: " ")[1]) ?? 0
        for line in lines.dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2 { reply.headers[parts[0].lowercased()] = parts[1] }
        }
        let payload = Array(raw[(end + 4)...])
        if reply.headers["transfer-encoding"] == "chunked" {
            var at = 0
            while let lineEnd = (at..<max(at, payload.count - 1)).first(where: { payload[$0] == 13 && payload[$0 + 1] == 10 }),
                let size = Int(String(decoding: payload[at..<lineEnd], as: UTF8.self), radix: 16)
            {
                if size == 0 { reply.complete = true; break }
                guard lineEnd + 2 + size <= payload.count else { break }
                reply.body += payload[(lineEnd + 2)..<(lineEnd + 2 + size)]
                at = lineEnd + 4 + size
            }
        } else {
            reply.body = payload
            reply.complete = Int(reply.headers["content-length"] ?? "") == payload.count
        }
        return reply
    }

    @Test func limitsRefuseWithTheirNameAndStreamedMatchesSampled() throws {
        let dir = temporaryDirectory("node-rr-limits")
        let (now, _) = try preload(dir)
        let path = Scratch.directory("rr-config").path + "/muninn.yml"
        try Self.config.write(toFile: path, atomically: true, encoding: .utf8)
        let (node, port) = try startNode(dir, extra: ["--config", path])
        defer { node.stop() }
        let base = "http://127.0.0.1:\(port)"
        let a = ["X-Scope-OrgID": "a"]
        let start = now - 3_600_000
        func read(_ queries: [[LabelMatcher]], streamed: Bool = false, start: Int64 = start) throws -> RawReply {
            let reply = try Self.post(
                port: port, "/api/v1/read", headers: a,
                body: Self.request(queries.map { ($0, start, now) }, streamed: streamed))
            #expect(HTTP.request(base + "/ready")?.status == 200)
            return reply
        }
        let requests = try LabelMatcher(.equal, "__name__", "e2e_requests_total")
        let up = try LabelMatcher(.equal, "__name__", "e2e_up")
        let job = try LabelMatcher(.equal, "job", "api")

        for streamed in [false, true] {
            for matchers in [[], [try LabelMatcher(.equal, "job", "")], [try LabelMatcher(.regexMatch, "job", ".*")]] {
                let reply = try read([matchers], streamed: streamed)
                #expect(reply.status == 400)
                #expect(reply.text.contains("query must contain at least one matcher that does not match the empty string"), "\(reply.text)")
            }
            let many = try read([[up], [up], [up]], streamed: streamed)
            #expect(many.status == 400 && many.text.contains("read.maxQueries"), "\(many.text)")
            let backwards = try read([[up]], streamed: streamed, start: now + 1)
            #expect(backwards.status == 400 && backwards.text.contains("before start time"), "\(backwards.text)")
            // 6 series match job="api"; the limit is 5. The head holds them all, so even a
            // streamed response is refused before its first frame.
            let series = try read([[job]], streamed: streamed)
            #expect(series.status == 400 && series.text.contains("more than 5 series (limit read.maxSeries)"), "\(series.text)")
        }
        // Series count across a request's queries: 5, then 1 more (20 samples each, within maxSamples).
        let across = try read([[requests], [up]], start: now - 300_000)
        #expect(across.status == 400 && across.text.contains("more than 5 series"), "\(across.text)")
        // Streamed, the first query's frames are out when the second query passes the
        // limit: the stream is cut, without its last chunk.
        let cut = try read([[requests], [up]], streamed: true, start: now - 300_000)
        #expect(cut.status == 200 && !cut.complete && !cut.body.isEmpty, "\(cut.status) \(cut.body.count) bytes")
        // 5 series × 40 samples is over maxSamples (SAMPLES only, as Prometheus's sample limit).
        let samples = try read([[requests]])
        #expect(samples.status == 400 && samples.text.contains("more than 100 samples (limit read.maxSamples)"), "\(samples.text)")

        // Within the limits: the two formats carry the same samples (2 + 1 series, 100 samples).
        let ranges = [(start, now), (now - 300_000, now)]
        let queries: [[LabelMatcher]] = [[requests, try LabelMatcher(.regexMatch, "instance", "i[12]")], [up]]
        let body = { (streamed: Bool) in
            try Self.post(
                port: port, "/api/v1/read", headers: a,
                body: Self.request(zip(queries, ranges).map { ($0, $1.0, $1.1) }, streamed: streamed))
        }
        let sampledReply = try body(false)
        #expect(sampledReply.status == 200 && sampledReply.complete, "\(sampledReply.text)")
        #expect(sampledReply.headers["content-encoding"] == "snappy")
        let fromSamples = try Self.sampled(Data(sampledReply.body), queries: 2)
        let streamedReply = try body(true)
        #expect(streamedReply.status == 200 && streamedReply.complete, "\(streamedReply.text)")
        #expect(streamedReply.headers["content-type"] == RemoteRead.streamedContentType)
        let fromFrames = try Self.streamed(Data(streamedReply.body), ranges: ranges, maxFrame: 300)
        #expect(fromSamples == fromFrames)
        #expect(fromSamples.map(\.count) == [2, 1])
        #expect(fromSamples[0].values.map(\.count) == [40, 40])
        #expect(fromSamples[1].values.first?.count == 20)
        #expect(HTTP.request(base + "/ready")?.status == 200)

        // The JSON APIs: a selector needs a non-empty matcher, answers are bounded.
        let empty = HTTP.request(base + "/api/v1/series?match%5B%5D=%7Bjob%3D%22%22%7D", headers: a)
        #expect(empty?.status == 400 && empty?.text.contains("at least one non-empty matcher") == true, "\(empty?.text ?? "")")
        let tooMany = HTTP.request(base + "/api/v1/series?match%5B%5D=%7Bjob%3D%22api%22%7D", headers: a)
        #expect(tooMany?.status == 400 && tooMany?.text.contains("read.maxSeries") == true, "\(tooMany?.text ?? "")")
        let five = HTTP.request(base + "/api/v1/series?match%5B%5D=e2e_requests_total", headers: a)
        #expect(five?.status == 200 && five?.text.components(separatedBy: "instance").count == 6, "\(five?.text ?? "")")
        let values = HTTP.request(base + "/api/v1/label/instance/values", headers: a)
        #expect(values?.status == 400 && values?.text.contains("read.maxLabelValues") == true, "\(values?.text ?? "")")
        #expect(HTTP.request(base + "/metrics")?.text.contains(#"muninn_read_refused_total{route="label_values",reason="values-limit"} 1"#) == true)
        let matched = HTTP.request(
            base + "/api/v1/label/instance/values?match%5B%5D=e2e_requests_total%7Binstance%3D~%22i%5B1-3%5D%22%7D", headers: a)
        #expect(matched?.text == #"{"data":["i1","i2","i3"],"status":"success"}"#, "\(matched?.text ?? "")")
        #expect(HTTP.request(base + "/api/v1/labels", headers: a)?.status == 200)
        #expect(HTTP.request(base + "/ready")?.status == 200)

        let metrics = HTTP.request(base + "/metrics")?.text ?? ""
        for reason in ["no-matcher", "too-many-queries", "bad-range", "series-limit", "sample-limit"] {
            #expect(metrics.contains(#"muninn_read_refused_total{route="read",reason="\#(reason)"}"#), "\(reason)")
        }
        #expect(metrics.contains(#"muninn_read_refused_total{route="series",reason="series-limit"} 1"#))
        #expect(node.stop(SIGTERM) == 0)
    }

    @Test func readLimitsMustBePositive() throws {
        for key in ["maxQueries", "maxSeries", "maxSamples", "maxResponseBytes", "maxBytesInFrame", "maxLabelValues", "timeoutSeconds"] {
            let path = Scratch.directory("rr-bad-config").path + "/muninn.yml"
            try "read:\n  \(key): 0\n".write(toFile: path, atomically: true, encoding: .utf8)
            let r = try muninn(["node", "--config", path, "--print-config"])
            #expect(r.status == 1 && r.stderr.contains("read.\(key): must be a positive integer"), "\(key): \(r.stderr)")
        }
        let path = Scratch.directory("rr-big-config").path + "/muninn.yml"
        try "read:\n  maxResponseBytes: 4294967296\n".write(toFile: path, atomically: true, encoding: .utf8)
        let r = try muninn(["node", "--config", path, "--print-config"])
        #expect(r.status == 1 && r.stderr.contains("read.maxResponseBytes: must be at most 4294967295"), "\(r.stderr)")
        let shown = try muninn(["node", "--print-config"])
        #expect(shown.stdout.contains("read:\n  maxQueries: 16\n"), "\(shown.stdout)")
    }
}
