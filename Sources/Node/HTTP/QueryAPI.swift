import Engine
import Foundation
import Hummingbird
import HTTPTypes
import NIOCore

/// Prometheus's JSON series / label APIs (`/api/v1/series`, `/labels`,
/// `/label/<name>/values`): parameters from the query string or a form body,
/// answers `{"status":"success","data":…}`, errors 400 with a plain-text reason.
enum QueryAPI {
    struct Parameters {
        var matchers: [[LabelMatcher]] = []
        var start = Int64.min
        var end = Int64.max
    }

    static func parameters(_ request: Request, requireMatch: Bool) async throws -> Parameters {
        var pairs = formPairs(request.uri.query ?? "")
        if request.method == .post {
            // Over the limit is the client's error (413), not a failed request (500).
            let body = try await Push.collect(request, limit: 1 << 20)
            pairs += formPairs(String(decoding: body, as: UTF8.self))
        }
        var p = Parameters()
        for (key, value) in pairs {
            switch key {
            case "match[]":
                do { p.matchers.append(try SelectorParser.parse(value)) } catch {
                    throw HTTPFailure(.badRequest, "invalid match[] \(value): \(error)")
                }
            // Empty is absent, as in Prometheus (forms and UIs send `start=`).
            case "start" where !value.isEmpty: p.start = try time(value, "start")
            case "end" where !value.isEmpty: p.end = try time(value, "end")
            default: break
            }
        }
        if requireMatch, p.matchers.isEmpty { throw HTTPFailure(.badRequest, "no match[] parameter provided") }
        if p.start > p.end { throw HTTPFailure(.badRequest, "end timestamp must not be before start time") }
        return p
    }

    /// Unix seconds (fractions allowed) or RFC 3339, as Prometheus accepts.
    /// A finite time beyond the Int64 millisecond range is clamped to its end
    /// (Prometheus clamps to its min/max time too, so a client asking for
    /// "everything" with 1e300 still gets an answer); NaN and ±Inf name no
    /// instant and are refused.
    static func time(_ value: String, _ name: String) throws -> Int64 {
        if let seconds = Double(value) { return try milliseconds(seconds, name, value) }
        let parser = ISO8601DateFormatter()
        parser.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = parser.date(from: value) ?? ISO8601DateFormatter().date(from: value) {
            return try milliseconds(date.timeIntervalSince1970, name, value)
        }
        throw HTTPFailure(.badRequest, "invalid \(name) time \(value): want unix seconds or RFC 3339")
    }

    /// Seconds to milliseconds without trapping: the conversion to Int64 traps
    /// outside [-2^63, 2^63), which any finite double past ±9.2e15 s reaches.
    static func milliseconds(_ seconds: Double, _ name: String, _ value: String) throws -> Int64 {
        guard seconds.isFinite else {
            throw HTTPFailure(.badRequest, "invalid \(name) time \(value): must be a finite number of seconds")
        }
        let ms = (seconds * 1000).rounded()
        if ms >= 0x1p63 { return .max }
        if ms < -0x1p63 { return .min }
        return Int64(ms)
    }

    /// `application/x-www-form-urlencoded` pairs (also the query string).
    static func formPairs(_ body: String) -> [(String, String)] {
        body.split(separator: "&").compactMap { item in
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(percentDecoded)
            return parts.count == 2 ? (parts[0], parts[1]) : nil
        }
    }

    /// `+` is a space and `%XX` a byte; malformed escapes stay as they are.
    static func percentDecoded(_ s: Substring) -> String {
        var out: [UInt8] = []
        let bytes = Array(s.utf8)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "+") { out.append(0x20); i += 1; continue }
            if b == UInt8(ascii: "%"), i + 2 < bytes.count,
               let hi = hex(bytes[i + 1]), let lo = hex(bytes[i + 2]) {
                out.append(hi << 4 | lo)
                i += 3
                continue
            }
            out.append(b)
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    static func database(_ request: Request, _ state: NodeState) throws -> TenantDB? {
        guard let dbs = state.databases else { throw HTTPFailure(.unavailable, "node is \(state.phase.rawValue)") }
        let tenant = try state.tenant(from: request.headers)
        return dbs.existing(tenant)
    }

    static func series(_ request: Request, _ state: NodeState) async throws -> Response {
        let p = try await parameters(request, requireMatch: true)
        var seen = Set<Labels>()
        var out: [[String: String]] = []
        if let db = try database(request, state) {
            for matchers in p.matchers {
                for s in try db.select(mint: p.start, maxt: p.end, matchers: matchers) where seen.insert(s.labels).inserted {
                    out.append(Dictionary(uniqueKeysWithValues: s.labels.labels.map { ($0.name, $0.value) }))
                }
            }
        }
        return try Routes.json(.ok, ["status": "success", "data": out])
    }

    static func labels(_ request: Request, _ state: NodeState) async throws -> Response {
        let p = try await parameters(request, requireMatch: false)
        var names = Set<String>()
        if let db = try database(request, state) {
            if p.matchers.isEmpty { names.formUnion(try db.labelNames()) }
            for m in p.matchers { names.formUnion(try db.labelNames(matchers: m)) }
        }
        return try Routes.json(.ok, ["status": "success", "data": names.sorted()])
    }

    static func labelValues(_ request: Request, name: String, _ state: NodeState) async throws -> Response {
        let p = try await parameters(request, requireMatch: false)
        var values = Set<String>()
        if let db = try database(request, state) {
            if p.matchers.isEmpty { values.formUnion(try db.labelValues(name)) }
            for m in p.matchers { values.formUnion(try db.labelValues(name, matchers: m)) }
        }
        return try Routes.json(.ok, ["status": "success", "data": values.sorted()])
    }
}
