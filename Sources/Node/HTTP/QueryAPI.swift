import Engine
import Formats
import Foundation
import HTTPTypes
import Hummingbird

/// Prometheus's JSON series / label APIs (`/api/v1/series`, `/labels`,
/// `/label/<name>/values`): parameters from the query string or a form body,
/// answers `{"status":"success","data":…}`, errors 400 with a plain-text reason.
/// Bounded by `read:`: more than `maxSeries` series (or `maxLabelValues`
/// names/values) is a 400 naming the limit, a request past the timeout 503.
enum QueryAPI {
    struct Parameters: Sendable {
        var matchers: [[LabelMatcher]] = []
        var start = Int64.min
        var end = Int64.max
    }

    static func parameters(_ request: Request, requireMatch: Bool, _ state: NodeState) async throws -> Parameters {
        var pairs = formPairs(request.uri.query ?? "")
        if request.method == .post {
            // Over the limit is the client's error (413), not a failed request (500).
            let body = try await Push.collect(request, limit: 1 << 20, timeout: .seconds(state.config.server.readTimeoutSeconds))
            pairs += formPairs(String(decoding: body, as: UTF8.self))
        }
        var p = Parameters()
        for (key, value) in pairs {
            switch key {
            case "match[]":
                // The parser refuses, as Prometheus's does, a selector whose matchers all match "".
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
                let hi = hex(bytes[i + 1]), let lo = hex(bytes[i + 2])
            {
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

    static func database(_ request: Request, _ state: NodeState) async throws -> TenantDB? {
        guard let dbs = state.databases else { throw HTTPFailure(.unavailable, "node is \(state.phase.rawValue)") }
        let tenant = try await state.tenant(from: request.headers)
        // A tenant that failed to open is retried here: a WAL replay, so off the cooperative pool.
        return try await state.offload(state.queryPool) { try dbs.readable(tenant) }
    }

    static func series(_ request: Request, _ state: NodeState) async throws -> Response {
        let p = try await parameters(request, requireMatch: true, state)
        let limits = state.config.read
        let bounds = ReadBounds(maxSeries: limits.maxSeries, deadline: .now + .seconds(limits.timeoutSeconds))
        let db = try await database(request, state)
        let out = try await bounded(state, route: "series") {
            var seen = Set<Labels>()
            var out: [[String: String]] = []
            guard let db else { return out }
            for matchers in p.matchers {
                var cursor = try db.cursor(mint: p.start, maxt: p.end, matchers: matchers, bounds: bounds)
                while let s = try cursor.next() {
                    guard seen.insert(s.labels).inserted else { continue }
                    if seen.count > limits.maxSeries { throw ReadLimitError.tooManySeries(limit: limits.maxSeries) }
                    out.append(Dictionary(uniqueKeysWithValues: s.labels.labels.map { ($0.name, $0.value) }))
                }
            }
            return out
        }
        return try Routes.json(.ok, ["status": "success", "data": out])
    }

    static func labels(_ request: Request, _ state: NodeState) async throws -> Response {
        let p = try await parameters(request, requireMatch: false, state)
        let db = try await database(request, state)
        let names = try await collect(state, db, p, route: "labels", all: { $0.labelNames() }) { s, names in
            for label in s.labels.labels { names.insert(label.name) }
        }
        return try Routes.json(.ok, ["status": "success", "data": names])
    }

    static func labelValues(_ request: Request, name: String, _ state: NodeState) async throws -> Response {
        let p = try await parameters(request, requireMatch: false, state)
        let db = try await database(request, state)
        let values = try await collect(state, db, p, route: "label_values", all: { $0.labelValues(name) }) { s, values in
            if let v = s.labels[name] { values.insert(v) }
        }
        return try Routes.json(.ok, ["status": "success", "data": values])
    }

    /// Label names or values, sorted: `all(db)` without `match[]`, else what
    /// `add` takes from each matching series (at most `maxSeries` of them per
    /// selector). More than `maxLabelValues` of them is refused.
    private static func collect(
        _ state: NodeState, _ db: TenantDB?, _ p: Parameters, route: String,
        all: @escaping @Sendable (TenantDB) throws -> [String],
        add: @escaping @Sendable (SeriesData, inout Set<String>) -> Void
    ) async throws -> [String] {
        let limits = state.config.read
        let bounds = ReadBounds(maxSeries: limits.maxSeries, deadline: .now + .seconds(limits.timeoutSeconds))
        return try await bounded(state, route: route) {
            guard let db else { return [] }
            var found = p.matchers.isEmpty ? Set(try all(db)) : []
            for matchers in p.matchers {
                var cursor = try db.cursor(mint: p.start, maxt: p.end, matchers: matchers, bounds: bounds)
                while let s = try cursor.next() {
                    add(s, &found)
                    if found.count > limits.maxLabelValues { break }
                }
            }
            if found.count > limits.maxLabelValues {
                state.metrics.readRefused(route: route, reason: "values-limit")
                throw HTTPFailure(.badRequest, "more than \(limits.maxLabelValues) values match (limit read.maxLabelValues)")
            }
            return found.sorted()
        }
    }

    /// Runs a read off the cooperative pool; a limit or the timeout becomes its HTTP failure.
    private static func bounded<T: Sendable>(
        _ state: NodeState, route: String,
        _ body: @escaping @Sendable () throws -> T
    ) async throws -> T {
        do {
            return try await ReadWork.run(state, body)
        } catch let error as ReadLimitError {
            state.metrics.readRefused(route: route, reason: ReadWork.reason(error))
            throw ReadWork.failure(error)
        }
    }
}
