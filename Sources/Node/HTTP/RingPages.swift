import Cluster
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// The operator's view of the cluster, as Mimir's: `GET /ingester/ring` (HTML,
/// or JSON with `Accept: application/json`), `POST /ingester/ring` with
/// `forget=<id>` (an admin call), and `GET /memberlist`.
///
/// Every string on these pages can come from another member (instance IDs,
/// zones and addresses travel by gossip), so all of it is escaped.
enum RingPages {
    static func register(on router: NodeRouter, _ state: NodeState) {
        router.get("/ingester/ring") { request, _ in
            try await Routes.handle(state, route: "ring") {
                let json = wantsJSON(request)
                let showTokens = QueryAPI.formPairs(request.uri.query ?? "").contains { $0.0 == "tokens" && $0.1 == "true" }
                // Sorting every token of a large ring is not for the cooperative pool.
                return try await state.offload(state.queryPool) { try ring(state, json: json, showTokens: showTokens) }
            }
        }
        router.post("/ingester/ring") { request, context in
            try await Routes.handle(state, route: "ring_forget") {
                try state.access.authorizeAdmin(request.headers, loopback: context.isLoopback)
                return try await forget(request, state)
            }
        }
        router.get("/memberlist") { request, _ in
            try await Routes.handle(state, route: "memberlist") { try memberlist(request, state) }
        }
    }

    /// One row of the ring page, computed once for both renderings.
    struct Shard {
        var desc: InstanceDesc
        var state: DisplayState
        var ownership: Double
    }

    static func shards(_ state: NodeState, now: Int64) -> [Shard] {
        let life = state.cluster.lifecycler.config
        let snapshot = RingSnapshot(state.cluster.store.snapshot())
        let shares = snapshot.ownership(zoneAware: life.zoneAware)
        return snapshot.members.compactMap { desc in
            DisplayState(desc, now: now, heartbeatTimeoutMillis: life.heartbeatTimeoutMillis).map {
                Shard(desc: desc, state: $0, ownership: shares[desc.id] ?? 0)
            }
        }
    }

    static func ring(_ state: NodeState, json: Bool, showTokens: Bool) throws -> Response {
        let now = Clock.nowMillis()
        let shards = shards(state, now: now)
        if json {
            let list: [[String: Any]] = shards.map { shard in
                let d = shard.desc
                return [
                    "id": d.id, "state": shard.state.rawValue, "zone": d.zone, "address": d.addr,
                    "timestamp": rfc3339(d.timestamp),
                    "registered_timestamp": timeOrNull(d.registeredTimestamp),
                    "tokens": d.tokens.map { Int($0) }, "read_only": d.readOnly,
                    "read_only_updated_timestamp": timeOrNull(d.readOnlyUpdatedTimestamp),
                    "ownership": shard.ownership
                ]
            }
            return try Routes.json(.ok, ["shards": list, "now": rfc3339(now)])
        }
        return html(ringHTML(shards, state, now: now, showTokens: showTokens))
    }

    static func ringHTML(_ shards: [Shard], _ state: NodeState, now: Int64, showTokens: Bool) -> String {
        let life = state.cluster.lifecycler.config
        var counts: [DisplayState: Int] = [:]
        for shard in shards { counts[shard.state, default: 0] += 1 }
        let summary = DisplayState.allCases.compactMap { s in counts[s].map { "\($0) \(s.rawValue)" } }.joined(separator: ", ")
        var page = head("Ingester ring")
        page += "<h1>Ingester ring</h1>\n<p class=\"meta\">This node: <b>\(escape(life.instanceID))</b> · ring store "
        page += "\(escape(state.cluster.config.store)) · \(shards.count) instance\(shards.count == 1 ? "" : "s")"
        page += summary.isEmpty ? "" : " (\(summary))"
        page += " · heartbeat timeout \(duration(life.heartbeatTimeoutMillis))"
        page += life.zoneAware ? " · ownership per zone" : ""
        page += " · \(rfc3339(now))</p>\n"
        page += "<table>\n<thead><tr><th>Instance</th><th>Zone</th><th>State</th><th>Address</th><th>Last heartbeat</th>"
        page += "<th>Registered</th><th>Read-only</th><th class=\"num\">Tokens</th><th class=\"num\">Ownership</th><th></th></tr></thead>\n<tbody>\n"
        for shard in shards {
            let d = shard.desc
            let me = d.id == life.instanceID ? " <span class=\"me\">(this node)</span>" : ""
            page += "<tr class=\"\(shard.state.rawValue)\"><td>\(escape(d.id))\(me)</td><td>\(escape(d.zone))</td>"
            page += "<td><span class=\"state \(shard.state.rawValue)\">\(shard.state.rawValue)</span></td>"
            page += "<td>\(escape(d.addr))</td><td>\(rfc3339(d.timestamp)) <span class=\"age\">(\(age(now, d.timestamp)))</span></td>"
            page += "<td>\(d.registeredTimestamp == 0 ? "" : rfc3339(d.registeredTimestamp))</td>"
            let since = d.readOnlyUpdatedTimestamp == 0 ? "" : " since \(rfc3339(d.readOnlyUpdatedTimestamp))"
            page += "<td>\(d.readOnly ? "yes" : "no")\(since)</td>"
            page += "<td class=\"num\">\(d.tokens.count)</td><td class=\"num\">\(String(format: "%.2f", shard.ownership * 100))%</td>"
            page += "<td><form method=\"post\" action=\"/ingester/ring\"><input type=\"hidden\" name=\"forget\" value=\"\(escape(d.id))\">"
            page += "<button type=\"submit\">Forget</button></form></td></tr>\n"
        }
        page += "</tbody>\n</table>\n"
        if showTokens {
            page += "<p><a href=\"/ingester/ring\">Hide tokens</a></p>\n<h2>Tokens</h2>\n"
            for shard in shards {
                page += "<h3>\(escape(shard.desc.id)) (\(shard.desc.tokens.count))</h3>\n<p class=\"tokens\">"
                page += shard.desc.tokens.map(String.init).joined(separator: " ") + "</p>\n"
            }
        } else {
            page += "<p><a href=\"/ingester/ring?tokens=true\">Show tokens</a></p>\n"
        }
        page += "<p class=\"meta\">Forget removes an instance's entry (a tombstone, spread by gossip); an instance that is still "
        page += "running registers again with its next heartbeat. Forget is an admin call: loopback clients only, unless "
        page += "server.adminToken is set. <a href=\"/memberlist\">Gossip members</a></p>\n</body>\n</html>\n"
        return page
    }

    /// `POST /ingester/ring`, `forget=<id>`: removes the entry and sends the
    /// browser back to the page.
    static func forget(_ request: Request, _ state: NodeState) async throws -> Response {
        let type = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard type == "application/x-www-form-urlencoded" else {
            throw HTTPFailure(
                .badRequest, "expected a form (Content-Type: application/x-www-form-urlencoded) with forget=<instance id>")
        }
        let body = try await Push.collect(request, limit: 1 << 20, timeout: .seconds(state.config.server.readTimeoutSeconds))
        let pairs = QueryAPI.formPairs(String(decoding: body, as: UTF8.self))
        guard let id = pairs.first(where: { $0.0 == "forget" })?.1, !id.isEmpty else {
            throw HTTPFailure(.badRequest, "missing form field forget=<instance id>")
        }
        guard state.cluster.lifecycler.forget(id) else {
            // Truncated: the reason is for a person, and the id may be 1 MiB.
            let shown = id.utf8.count > 256 ? String(decoding: Array(id.utf8.prefix(256)), as: UTF8.self) + "…" : id
            throw HTTPFailure(.notFound, "instance \(shown) is not in the ring")
        }
        return Response(status: .found, headers: [.location: "/ingester/ring"])
    }

    static func memberlist(_ request: Request, _ state: NodeState) throws -> Response {
        let json = wantsJSON(request)
        guard let kv = state.cluster.memberlist else {
            if json { return try Routes.json(.ok, ["gossip": false]) }
            var page = head("Memberlist")
            page += "<h1>Memberlist</h1>\n<p>Gossip is off: this node keeps its ring in memory (<code>--ring.store inmemory</code>); "
            page += "start it with <code>--ring.store memberlist</code> to form a ring with other nodes.</p>\n"
            page += "<p><a href=\"/ingester/ring\">Ring</a></p>\n</body>\n</html>\n"
            return html(page)
        }
        let now = Clock.nowMillis()
        let status = kv.status()
        let ring = kv.snapshot()
        let live = ring.members.count
        let counters: [(String, Int)] = [
            ("messages_sent", status.transport.messagesSent), ("messages_received", status.transport.messagesReceived),
            ("bytes_sent", status.transport.bytesSent), ("bytes_received", status.transport.bytesReceived),
            ("messages_dropped", status.transport.messagesDropped), ("invalid_messages", status.transport.invalidMessages),
            ("connect_failures", status.transport.connectFailures), ("push_pulls", status.pushPulls),
            ("queued_changes", status.queuedChanges)
        ]
        let ringCounts = [("members", live), ("tombstones", ring.instances.count - live), ("graves", ring.graves.count)]
        if json {
            let members: [[String: Any]] = status.members.map { m in
                [
                    "name": m.peer.name, "address": m.peer.address, "state": m.dead ? "dead" : "alive",
                    "last_seen": rfc3339(m.lastSeen), "messages_sent": m.sent, "messages_received": m.received,
                    "consecutive_failures": m.consecutiveFailures
                ]
            }
            return try Routes.json(
                .ok,
                [
                    "gossip": true, "name": status.me.name, "address": status.me.address, "now": rfc3339(now),
                    "members": members, "counters": Dictionary(uniqueKeysWithValues: counters),
                    "ring": Dictionary(uniqueKeysWithValues: ringCounts),
                    "last_change_received": timeOrNull(status.lastChangeReceived)
                ])
        }
        var page = head("Memberlist")
        page += "<h1>Memberlist</h1>\n<p class=\"meta\">This member: <b>\(escape(status.me.name))</b> at \(escape(status.me.address))"
        page += " · \(rfc3339(now))</p>\n<h2>Members</h2>\n"
        page += "<table>\n<thead><tr><th>Name</th><th>Address</th><th>State</th><th>Last seen</th><th class=\"num\">Sent</th>"
        page += "<th class=\"num\">Received</th><th class=\"num\">Failed sends in a row</th></tr></thead>\n<tbody>\n"
        for m in status.members {
            let alive = m.dead ? "dead" : "alive"
            page += "<tr class=\"\(m.dead ? "UNHEALTHY" : "ACTIVE")\"><td>\(escape(m.peer.name))</td><td>\(escape(m.peer.address))</td>"
            page += "<td><span class=\"state \(m.dead ? "UNHEALTHY" : "ACTIVE")\">\(alive)</span></td>"
            page += "<td>\(rfc3339(m.lastSeen)) <span class=\"age\">(\(age(now, m.lastSeen)))</span></td>"
            page += "<td class=\"num\">\(m.sent)</td><td class=\"num\">\(m.received)</td><td class=\"num\">\(m.consecutiveFailures)</td></tr>\n"
        }
        page += "</tbody>\n</table>\n<h2>This member</h2>\n<table class=\"narrow\">\n<tbody>\n"
        for (name, value) in counters + ringCounts.map({ ("ring_" + $0.0, $0.1) }) {
            page += "<tr><td>\(name.replacingOccurrences(of: "_", with: " "))</td><td class=\"num\">\(value)</td></tr>\n"
        }
        page += "</tbody>\n</table>\n<p><a href=\"/ingester/ring\">Ring</a></p>\n</body>\n</html>\n"
        return html(page)
    }

    /// JSON when the client asks for it; a browser never does.
    static func wantsJSON(_ request: Request) -> Bool {
        request.headers[.accept]?.contains("application/json") ?? false
    }

    static func html(_ page: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: page)))
    }

    static func head(_ title: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>\(escape(title)) · Muninn</title>
        <style>
        body { font-family: system-ui, sans-serif; margin: 24px; color: #1f2328; }
        h1 { font-size: 22px; margin: 0 0 4px; }
        h2 { font-size: 17px; margin: 24px 0 8px; }
        h3 { font-size: 14px; margin: 16px 0 4px; }
        .meta { color: #57606a; margin: 4px 0 16px; }
        table { border-collapse: collapse; width: 100%; font-size: 13px; }
        table.narrow { width: auto; }
        th, td { border-bottom: 1px solid #d0d7de; padding: 6px 10px; text-align: left; white-space: nowrap; }
        th { background: #f6f8fa; }
        .num { text-align: right; font-variant-numeric: tabular-nums; }
        .age, .me { color: #57606a; }
        .state { font-weight: 600; padding: 1px 6px; border-radius: 4px; }
        .state.ACTIVE { background: #dafbe1; color: #1a7f37; }
        .state.LEAVING, .state.JOINING, .state.PENDING { background: #fff8c5; color: #7d4e00; }
        .state.UNHEALTHY { background: #ffebe9; color: #cf222e; }
        tr.UNHEALTHY td { background: #fff5f5; }
        form { margin: 0; }
        button { font-size: 12px; padding: 2px 10px; cursor: pointer; }
        .tokens { font-family: ui-monospace, monospace; font-size: 12px; white-space: normal; word-spacing: 6px; }
        </style>
        </head>
        <body>

        """
    }

    /// Text for HTML element content and quoted attribute values.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// Unix milliseconds as RFC 3339 UTC with milliseconds, as Mimir's JSON.
    /// A peer's timestamp can be anything: it is clamped to years 0000-9999,
    /// which RFC 3339 can write.
    static func rfc3339(_ millis: Int64) -> String {
        let clamped = Swift.min(Swift.max(millis, -62_167_219_200_000), 253_402_300_799_999)
        let seconds = clamped >= 0 ? clamped / 1000 : (clamped - 999) / 1000
        let fraction = clamped - seconds * 1000
        var time = time_t(seconds)
        var parts = tm()
        guard gmtime_r(&time, &parts) != nil else { return "1970-01-01T00:00:00.000Z" }
        return String(
            format: "%04ld-%02ld-%02ldT%02ld:%02ld:%02ld.%03ldZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(fraction))
    }

    /// JSON null for a time never set (0).
    static func timeOrNull(_ millis: Int64) -> Any {
        millis == 0 ? NSNull() : rfc3339(millis)
    }

    /// How long before `now` `then` was, for people: `850ms ago`, `3m4s ago`.
    static func age(_ now: Int64, _ then: Int64) -> String {
        let (difference, overflow) = now.subtractingReportingOverflow(then)
        if overflow { return "unknown" }
        return difference >= 0 ? "\(duration(difference)) ago" : "\(duration(0 - Swift.max(difference, -Int64.max))) ahead"
    }

    static func duration(_ millis: Int64) -> String {
        if millis < 1000 { return "\(millis)ms" }
        let s = millis / 1000
        if s < 60 { return String(format: "%.1fs", Double(millis) / 1000) }
        if s < 3600 { return "\(s / 60)m\(s % 60)s" }
        if s < 86_400 { return "\(s / 3600)h\(s % 3600 / 60)m" }
        return "\(s / 86_400)d\(s % 86_400 / 3600)h"
    }
}
