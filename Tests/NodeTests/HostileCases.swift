import Formats
import Foundation

/// The tables of HostileRequestTests.
extension HostileRequestTests {
    /// Remote write: extreme timestamps (each into a fresh tenant, whose empty
    /// head must refuse them too), huge and non-UTF-8 labels, empty, truncated,
    /// giant and malformed bodies.
    static func pushCases(now: Int64) -> [HostileCase] {
        let year: Int64 = 365 * 86_400_000
        let p = RawProtobuf.self
        var cases: [HostileCase] = [
            HostileCase("push now", raw(post("/api/v1/push", one([now]))), .success),
            HostileCase(
                "push NaN, +Inf, -Inf values",
                raw(
                    post(
                        "/api/v1/push",
                        write([
                            RemoteWriteSeries(labels: Labels(["__name__": "hostile_nan"]), samples: [Sample(timestamp: now, value: .nan)]),
                            RemoteWriteSeries(labels: Labels(["__name__": "hostile_inf"]), samples: [Sample(timestamp: now, value: .infinity)]),
                            RemoteWriteSeries(labels: Labels(["__name__": "hostile_neg_inf"]), samples: [Sample(timestamp: now, value: -.infinity)])
                        ]))), .success)
        ]
        let timestamps: [(String, [Int64])] = [
            ("Int64.min", [.min]), ("Int64.max", [.max]), ("0", [0]), ("-1", [-1]),
            ("now - 10 years", [now - 10 * year]), ("now + 10 years", [now + 10 * year]), ("now + 1 hour", [now + 3_600_000]),
            ("Int64.min then now", [.min, now]), ("now then Int64.min", [now, .min]), ("Int64.max - 1 then Int64.max", [.max - 1, .max])
        ]
        for (i, (name, ts)) in timestamps.enumerated() {
            cases.append(HostileCase("push timestamp \(name) into an empty tenant", raw(post("/api/v1/push", one(ts), tenant: "ts-\(i)")), .refused))
        }
        let manyLabels = Labels(sorted: [Label("__name__", "hostile_wide")] + (0..<10_000).map { Label(String(format: "l%05d", $0), "v") })
        cases += [
            HostileCase("push 10,000 labels on one series", raw(post("/api/v1/push", one([now], labels: manyLabels))), .refused),
            HostileCase(
                "push a 100 KB label name",
                raw(
                    post(
                        "/api/v1/push",
                        one(
                            [now],
                            labels: Labels(sorted: [
                                Label("__name__", "hostile_up"), Label(String(repeating: "n", count: 100_000), "v")
                            ])))), .refused),
            HostileCase(
                "push a 1 MB label value",
                raw(
                    post(
                        "/api/v1/push",
                        one(
                            [now],
                            labels: Labels([
                                "__name__": "hostile_up", "v": String(repeating: "v", count: 1 << 20)
                            ])))), .refused),
            HostileCase(
                "push 5,000 series at once",
                raw(
                    post(
                        "/api/v1/push",
                        write(
                            (0..<5_000).map {
                                RemoteWriteSeries(
                                    labels: Labels(["__name__": "hostile_many", "i": "\($0)"]), samples: [Sample(timestamp: now, value: 1)])
                            }), tenant: "many")), .success),
            HostileCase(
                "push a non-UTF-8 label name",
                raw(
                    post(
                        "/api/v1/push",
                        p.snappy(
                            p.series(
                                [(Array("__name__".utf8), Array("hostile_up".utf8)), ([0xFF, 0xFE], Array("v".utf8))], [(now, 1)])))), .refused),
            HostileCase(
                "push a non-UTF-8 label value",
                raw(
                    post(
                        "/api/v1/push",
                        p.snappy(
                            p.series(
                                [(Array("__name__".utf8), Array("hostile_up".utf8)), (Array("job".utf8), [0xC3, 0x28])], [(now, 1)])))), .refused),
            HostileCase(
                "push a non-UTF-8 metric name",
                raw(
                    post(
                        "/api/v1/push",
                        p.snappy(
                            p.series(
                                [(Array("__name__".utf8), [0xFF])], [(now, 1)])))), .refused),
            HostileCase("push a series without labels", raw(post("/api/v1/push", p.snappy(p.series([], [(now, 1)])))), .refused),
            HostileCase("push an empty body", raw(post("/api/v1/push", [])), .refused),
            HostileCase("push an empty WriteRequest", raw(post("/api/v1/push", p.snappy([]))), .success),
            HostileCase("push truncated snappy", raw(post("/api/v1/push", Array(one([now]).dropLast(3)))), .refused),
            HostileCase(
                "push a body shorter than its Content-Length",
                raw(
                    RawHTTP.build(
                        "POST", Array("/api/v1/push".utf8),
                        headers: [("X-Scope-OrgID", Array(tenant.utf8)), ("Content-Length", Array("100000".utf8))],
                        body: one([now])), halfClose: true), .refusedOrClosed),
            HostileCase("push 20 MiB", .session(method: "POST", path: "/api/v1/push", headers: ["X-Scope-OrgID": tenant], body: giant), .refused),
            HostileCase("push 70 MiB after snappy decoding", raw(post("/api/v1/push", p.snappy([UInt8](repeating: 0, count: 70 << 20)))), .refused),
            HostileCase("push snappy announcing 4 GiB", raw(post("/api/v1/push", p.varint(0xFFFF_FFFF) + [0, 1, 2, 3])), .refused),
            HostileCase("push bytes that are not snappy", raw(post("/api/v1/push", Array("GET / HTTP/1.1\r\n\r\n".utf8))), .refused),
            HostileCase(
                "push a field announcing 2^62 bytes", raw(post("/api/v1/push", p.snappy(p.key(1, 2) + p.varint(1 << 62) + [1, 2, 3]))), .refused),
            HostileCase("push a field announcing 2^64-1 bytes", raw(post("/api/v1/push", p.snappy(p.key(1, 2) + p.varint(.max) + [1]))), .refused),
            HostileCase(
                "push an 11-byte varint length", raw(post("/api/v1/push", p.snappy(p.key(1, 2) + [UInt8](repeating: 0xFF, count: 10) + [1]))),
                .refused),
            HostileCase(
                "push a label announcing 2 GiB", raw(post("/api/v1/push", p.snappy(p.delimited(1, p.key(1, 2) + p.varint(1 << 31) + [0])))), .refused),
            HostileCase("push wire type 7", raw(post("/api/v1/push", p.snappy(p.key(5, 7) + [0, 0, 0, 0]))), .refused),
            HostileCase(
                "push an overlong timestamp varint",
                raw(
                    post(
                        "/api/v1/push",
                        p.snappy(
                            p.delimited(
                                1,
                                p.label(Array("__name__".utf8), Array("hostile_up".utf8))
                                    + p.delimited(2, p.key(2, 0) + [UInt8](repeating: 0xFF, count: 11)))))), .refused),
            HostileCase(
                "push remote-write 2.0",
                raw(
                    post(
                        "/api/v1/push", one([now]),
                        headers: [
                            ("Content-Type", Array("application/x-protobuf;proto=io.prometheus.write.v2.Request".utf8))
                        ])), .refused),
            HostileCase(
                "push with a bad chunk size",
                raw(
                    RawHTTP.build(
                        "POST", Array("/api/v1/push".utf8),
                        headers: [
                            ("X-Scope-OrgID", Array(tenant.utf8)), ("Transfer-Encoding", Array("chunked".utf8))
                        ], body: Array("zz\r\nabc\r\n0\r\n\r\n".utf8))),
                .refusedOrClosed),
            HostileCase(
                "push with a 2^72 chunk size",
                raw(
                    RawHTTP.build(
                        "POST", Array("/api/v1/push".utf8),
                        headers: [
                            ("X-Scope-OrgID", Array(tenant.utf8)), ("Transfer-Encoding", Array("chunked".utf8))
                        ],
                        body: Array("FFFFFFFFFFFFFFFFFF\r\nabc".utf8)), halfClose: true), .refusedOrClosed),
            HostileCase(
                "push with Content-Length -1",
                raw(
                    RawHTTP.build(
                        "POST", Array("/api/v1/push".utf8),
                        headers: [
                            ("X-Scope-OrgID", Array(tenant.utf8)), ("Content-Length", Array("-1".utf8))
                        ]), halfClose: true), .refusedOrClosed),
            HostileCase(
                "push with Content-Length 10^23",
                raw(
                    RawHTTP.build(
                        "POST", Array("/api/v1/push".utf8),
                        headers: [
                            ("X-Scope-OrgID", Array(tenant.utf8)), ("Content-Length", Array("99999999999999999999999".utf8))
                        ]), halfClose: true),
                .refusedOrClosed),
            HostileCase("push /api/v1/write alias", raw(post("/api/v1/write", one([now + 1]))), .success)
        ]
        return cases
    }

    /// The JSON APIs: every odd number in `start` and `end` of every endpoint,
    /// bad selectors, large forms.
    static func queryCases() -> [HostileCase] {
        let times: [(String, HostileExpect)] = [
            ("NaN", .refused), ("nan", .refused), ("-nan", .refused), ("Inf", .refused), ("%2BInf", .refused),
            ("-Inf", .refused), ("infinity", .refused), ("1e300", .success), ("-1e300", .success),
            ("1.7976931348623157e308", .success), ("-1.7976931348623157e308", .success), ("4.9e-324", .success),
            ("99999999999999999999999999999", .success), ("-99999999999999999999999999999", .success),
            ("9223372036854775807", .success), ("-9223372036854775808", .success),
            ("9223372036854775.807", .success), ("-9223372036854775.808", .success), ("0x1p1023", .success),
            ("", .success), ("abc", .refused), ("1e", .refused), ("%FF%FE", .refused), ("%00", .refused),
            ("9999-12-31T23:59:59.999Z", .success), ("0001-01-01T00:00:00Z", .success),
            ("2023-11-14T22:13:20.123%2B01:00", .success), ("2023-13-45T99:99:99Z", .refused)
        ]
        var cases: [HostileCase] = []
        for endpoint in ["/api/v1/series?match%5B%5D=hostile_up&", "/api/v1/labels?", "/api/v1/label/job/values?"] {
            for param in ["start", "end"] {
                for (value, expect) in times {
                    cases.append(HostileCase("GET \(endpoint)\(param)=\(value)", raw(get(endpoint + param + "=" + value)), expect))
                }
            }
        }
        let longSelector = "{job=\"" + String(repeating: "a", count: 500_000) + "\"}"
        let manyMatchers = "{__name__=\"hostile_up\"," + (0..<5_000).map { "l\($0)!=\"x\"" }.joined(separator: ",") + "}"
        cases += [
            HostileCase("start after end", raw(get("/api/v1/labels?start=1e300&end=-1e300")), .refused),
            HostileCase("unknown numeric parameter", raw(get("/api/v1/labels?limit=99999999999999999999999")), .success),
            HostileCase("form start=nan", raw(form("/api/v1/labels", "start=nan")), .refused),
            HostileCase("form end=-1e300", raw(form("/api/v1/labels", "end=-1e300")), .success),
            HostileCase("form of 2 MiB", raw(form("/api/v1/labels", "match[]=" + String(repeating: "a", count: 2 << 20))), .refused),
            HostileCase("form with a 500 KB selector", raw(form("/api/v1/series", "match[]=" + escaped(longSelector))), .success),
            HostileCase("form with 5,000 matchers", raw(form("/api/v1/series", "match[]=" + escaped(manyMatchers))), .success),
            HostileCase(
                "form with non-UTF-8 bytes",
                raw(
                    post(
                        "/api/v1/series", Array("match[]=".utf8) + [0xFF, 0xFE, 0x7B],
                        headers: [("Content-Type", Array("application/x-www-form-urlencoded".utf8))])), .refused),
            HostileCase("empty match[]", raw(get("/api/v1/series?match%5B%5D=")), .refused),
            HostileCase("non-UTF-8 match[]", raw(get("/api/v1/series?match%5B%5D=%FF%FE")), .refused),
            HostileCase("invalid regex", raw(get("/api/v1/series?match%5B%5D=" + escaped("{job=~\"(\"}"))), .refused),
            HostileCase("label name ..%2F..%2Fetc", raw(get("/api/v1/label/..%2F..%2Fetc/values")), .success),
            HostileCase("non-UTF-8 label name", raw(get("/api/v1/label/%FF%FE/values")), .success),
            HostileCase(
                "non-UTF-8 tenant", raw(RawHTTP.build("GET", Array("/api/v1/labels".utf8), headers: [("X-Scope-OrgID", [0xFF, 0xFE])])), .refused),
            HostileCase("10 KB tenant", raw(get("/api/v1/labels", tenant: String(repeating: "t", count: 10_000))), .refused),
            HostileCase("tenant ..", raw(get("/api/v1/labels", tenant: "..")), .refused),
            HostileCase(
                "basic auth that is not base64",
                raw(
                    RawHTTP.build(
                        "GET", Array("/api/v1/labels".utf8),
                        headers: [("Authorization", Array("Basic %%%".utf8))])), .refused),
            HostileCase(
                "basic auth with a non-UTF-8 user",
                raw(
                    RawHTTP.build(
                        "GET", Array("/api/v1/labels".utf8),
                        headers: [("Authorization", Array(("Basic " + Data([0xFF, 0xFE, 0x3A, 0x70]).base64EncodedString()).utf8))])), .refused)
        ]
        return cases
    }

    /// Remote read: empty, giant, unbounded and malformed requests.
    static func readCases() -> [HostileCase] {
        let p = RawProtobuf.self
        func read(_ queries: [RemoteReadRequest.Query], types: [RemoteReadRequest.ResponseType] = [], unknown: [UInt64] = []) -> [UInt8] {
            post(
                "/api/v1/read",
                p.snappy(RemoteReadRequest(queries: queries, acceptedResponseTypes: types, unsupportedResponseTypes: unknown).encoded()))
        }
        // A query with one raw matcher (type, name, value), for what LabelMatcher refuses to build.
        func rawQuery(_ type: UInt64, _ name: String, _ value: [UInt8]) -> [UInt8] {
            post(
                "/api/v1/read",
                p.snappy(
                    p.delimited(
                        1,
                        p.key(1, 0) + p.varint(0) + p.key(2, 0) + p.varint(UInt64(Int64.max))
                            + p.delimited(3, p.key(1, 0) + p.varint(type) + p.delimited(2, Array(name.utf8)) + p.delimited(3, value)))))
        }
        let name = try! LabelMatcher(.equal, "__name__", "hostile_up")
        let all = try! LabelMatcher(.regexMatch, "__name__", ".+")
        let emptyMatching = try! LabelMatcher(.equal, "job", "")
        return [
            HostileCase("read an empty body", raw(post("/api/v1/read", [])), .refused),
            HostileCase("read without queries", raw(read([])), .success),
            HostileCase("read a query without matchers", raw(read([.init(startMs: .min, endMs: .max, matchers: [])])), .refused),
            HostileCase(
                "read a query matching every series by an empty value", raw(read([.init(startMs: .min, endMs: .max, matchers: [emptyMatching])])),
                .refused),
            HostileCase(
                "read 10,000 queries", raw(read(Array(repeating: .init(startMs: .min, endMs: .max, matchers: [name]), count: 10_000))), .refused),
            HostileCase("read every series over all time", raw(read([.init(startMs: .min, endMs: .max, matchers: [all])])), .success),
            HostileCase(
                "read every series streamed", raw(read([.init(startMs: .min, endMs: .max, matchers: [all])], types: [.streamedXORChunks])), .success),
            HostileCase("read start Int64.max, end Int64.min", raw(read([.init(startMs: .max, endMs: .min, matchers: [name])])), .refused),
            HostileCase("read only unknown response types", raw(read([.init(startMs: 0, endMs: 1, matchers: [name])], unknown: [7])), .refused),
            HostileCase("read an invalid regex", raw(rawQuery(2, "job", Array("(".utf8))), .refused),
            HostileCase("read matcher type 99", raw(rawQuery(99, "job", Array("a".utf8))), .refused),
            HostileCase("read a non-UTF-8 matcher value", raw(rawQuery(0, "job", [0xFF, 0xFE])), .refused),
            HostileCase("read a non-UTF-8 regex", raw(rawQuery(2, "job", [0x28, 0xFF, 0x29])), .refused),
            HostileCase("read a field announcing 2^63 bytes", raw(post("/api/v1/read", p.snappy(p.key(1, 2) + p.varint(1 << 63) + [0]))), .refused),
            HostileCase("read bytes that are not snappy", raw(post("/api/v1/read", [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])), .refused),
            HostileCase("read 20 MiB", .session(method: "POST", path: "/api/v1/read", headers: ["X-Scope-OrgID": tenant], body: giant), .refused)
        ]
    }

    /// Paths, methods and HTTP framing.
    static func protocolCases() -> [HostileCase] {
        func request(_ method: String, _ target: [UInt8]) -> HostileCase.Request {
            raw(RawHTTP.build(method, target, headers: [("X-Scope-OrgID", Array(tenant.utf8))]))
        }
        let bigHeader = [("X-Junk", [UInt8](repeating: 0x61, count: 200_000))]
        let manyHeaders = (0..<5_000).map { ("X-H\($0)", Array("v".utf8)) }
        return [
            HostileCase("GET /api/v1/../ready", request("GET", Array("/api/v1/../ready".utf8)), .clientError),
            HostileCase("GET /../../../../etc/passwd", request("GET", Array("/../../../../etc/passwd".utf8)), .clientError),
            HostileCase(
                "GET /api/v1/label/../../../../etc/passwd/values", request("GET", Array("/api/v1/label/../../../../etc/passwd/values".utf8)),
                .clientError),
            HostileCase("GET /%2e%2e/%2e%2e/etc/passwd", request("GET", Array("/%2e%2e/%2e%2e/etc/passwd".utf8)), .clientError),
            HostileCase("GET /ready%00", request("GET", Array("/ready%00".utf8)), .clientError),
            HostileCase("GET a non-UTF-8 path", request("GET", Array("/ready".utf8) + [0xFF, 0xFE]), .refusedOrClosed),
            HostileCase("GET an empty label name", request("GET", Array("/api/v1/label//values".utf8)), .clientError),
            HostileCase(
                "push with both Content-Length and chunked",
                raw(
                    RawHTTP.build(
                        "POST", Array("/api/v1/push".utf8),
                        headers: [
                            ("X-Scope-OrgID", Array(tenant.utf8)), ("Content-Length", Array("5".utf8)), ("Transfer-Encoding", Array("chunked".utf8))
                        ],
                        body: Array("0\r\n\r\nGET /ready HTTP/1.1\r\n\r\n".utf8)), halfClose: true), .refusedOrClosed),
            HostileCase("BREW /ready", request("BREW", Array("/ready".utf8)), .clientError),
            HostileCase("TRACE /", request("TRACE", Array("/".utf8)), .clientError),
            HostileCase("DELETE /api/v1/push", request("DELETE", Array("/api/v1/push".utf8)), .clientError),
            HostileCase("PUT /api/v1/series", request("PUT", Array("/api/v1/series".utf8)), .clientError),
            HostileCase("GET /api/v1/push", request("GET", Array("/api/v1/push".utf8)), .clientError),
            HostileCase("GET /ingester/shutdown", request("GET", Array("/ingester/shutdown".utf8)), .clientError),
            HostileCase("PATCH /ingester/flush", request("PATCH", Array("/ingester/flush".utf8)), .clientError),
            HostileCase("a request line of control bytes", raw([0x00, 0x01, 0x02, 0x0D, 0x0A, 0x0D, 0x0A], halfClose: true), .refusedOrClosed),
            HostileCase("HTTP/0.9", raw(Array("GET /ready\r\n".utf8), halfClose: true), .refusedOrClosed),
            HostileCase("a 200 KB header", raw(RawHTTP.build("GET", Array("/ready".utf8), headers: bigHeader)), .refusedOrClosed),
            HostileCase("5,000 headers", raw(RawHTTP.build("GET", Array("/ready".utf8), headers: manyHeaders)), .refusedOrClosed)
        ]
    }
}
