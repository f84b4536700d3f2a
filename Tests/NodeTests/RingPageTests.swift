import Cluster
import Foundation
import TestSupport
import Testing

extension NodeProcessSuites {
    /// The operator surface of the ring: `/ingester/ring` (HTML and JSON, the
    /// Forget form), `/memberlist` and the ring and gossip metrics, on real
    /// nodes, and the page rendered by a real browser.
    @Suite struct RingPageTests {
        struct Shard: Decodable {
            var id: String
            var state: String
            var zone: String
            var address: String
            var timestamp: String
            var registeredTimestamp: String?
            var tokens: [UInt32]
            var readOnly: Bool
            var readOnlyUpdatedTimestamp: String?
            var ownership: Double
        }

        struct Ring: Decodable {
            var shards: [Shard]
            var now: String
        }

        static func ring(_ base: String) throws -> Ring {
            let reply = HTTP.request(base + "/ingester/ring", headers: ["Accept": "application/json"])
            guard let reply, reply.status == 200 else {
                throw NodeTestError(description: "GET /ingester/ring: \(reply.map { "\($0.status) \($0.text)" } ?? "no reply")")
            }
            #expect(reply.headers["content-type"] == "application/json")
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            return try decoder.decode(Ring.self, from: reply.body)
        }

        /// A POST through curl, which does not follow the 302 (URLSession would).
        static func post(_ url: String, body: String, headers: [String: String] = [:]) throws -> (status: Int, location: String, text: String) {
            var arguments = ["-s", "--max-time", "30", "-X", "POST", "--data-binary", body, "-w", "\n%{http_code} %{redirect_url}"]
            for (name, value) in headers { arguments += ["-H", "\(name): \(value)"] }
            let out = String(decoding: try Subprocess.output("curl", arguments + [url]), as: UTF8.self)
            let trailer = out.split(separator: "\n", omittingEmptySubsequences: false).last ?? ""
            let parts = trailer.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
            return (Int(parts.first ?? "") ?? 0, parts.count > 1 ? String(parts[1]) : "", String(out.dropLast(trailer.count)))
        }

        /// The value of an unlabelled sample (or one whose labels are `labels`) in a /metrics text.
        static func metric(_ text: String, _ name: String, _ labels: String = "") -> Double? {
            let prefix = name + labels + " "
            return text.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Double($0.dropFirst(prefix.count)) }
        }

        static let form = ["Content-Type": "application/x-www-form-urlencoded"]

        /// A single in-memory node: the JSON lists it ACTIVE with all tokens and
        /// the whole ring; Forget is an admin call and refuses unknown IDs and
        /// non-forms.
        @Test func singleNode() throws {
            let dir = temporaryDirectory("ring-page-single")
            let config = try ConfigTests.write("server:\n  adminToken: s3cret\n")
            let id = "ring-page-1", zone = "zone-a"
            let (node, port) = try startNode(dir, extra: ["--config", config, "--instance-id", id, "--zone", zone])
            defer { node.stop() }
            let base = "http://127.0.0.1:\(port)"

            let ring = try Self.ring(base)
            #expect(ring.shards.count == 1)
            let me = try #require(ring.shards.first)
            #expect(me.id == id && me.zone == zone && me.state == "ACTIVE" && me.address == "127.0.0.1:\(port)")
            #expect(me.tokens.count == 128 && me.tokens == me.tokens.sorted())
            #expect(me.ownership == 1.0)
            #expect(!me.readOnly && me.readOnlyUpdatedTimestamp == nil)
            let parser = ISO8601DateFormatter()
            parser.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            let now = try #require(parser.date(from: ring.now), "\(ring.now)")
            let heartbeat = try #require(parser.date(from: me.timestamp), "\(me.timestamp)")
            let registered = try #require(me.registeredTimestamp.flatMap(parser.date(from:)), "\(String(describing: me.registeredTimestamp))")
            #expect(registered <= heartbeat && heartbeat <= now && now.timeIntervalSince(heartbeat) < 120)
            #expect(ring.now.hasSuffix("Z") && ring.now.split(separator: ".").last?.count == 4, "milliseconds: \(ring.now)")

            let page = try #require(HTTP.request(base + "/ingester/ring"))
            #expect(page.status == 200 && page.headers["content-type"] == "text/html; charset=utf-8")
            #expect(page.text.contains("name=\"forget\" value=\"ring-page-1\""))
            #expect(page.text.contains(">ACTIVE<") && page.text.contains("100.00%") && !page.text.contains("<h2>Tokens</h2>"))
            let tokens = try #require(HTTP.request(base + "/ingester/ring?tokens=true"))
            #expect(tokens.text.contains(me.tokens.map(String.init).joined(separator: " ")))

            let url = base + "/ingester/ring"
            let bearer = ["Authorization": "Bearer s3cret"]
            #expect(try Self.post(url, body: "forget=a", headers: Self.form).status == 401)
            let unknown = try Self.post(url, body: "forget=not-a-member", headers: Self.form.merging(bearer) { a, _ in a })
            #expect(unknown.status == 404 && unknown.text.contains("not-a-member is not in the ring"), "\(unknown)")
            let missing = try Self.post(url, body: "other=1", headers: Self.form.merging(bearer) { a, _ in a })
            #expect(missing.status == 400 && missing.text.contains("forget"), "\(missing)")
            #expect(try Self.post(url, body: "forget=", headers: Self.form.merging(bearer) { a, _ in a }).status == 400)
            let notForm = try Self.post(url, body: "{\"forget\":\"a\"}", headers: bearer.merging(["Content-Type": "application/json"]) { a, _ in a })
            #expect(notForm.status == 400 && notForm.text.contains("x-www-form-urlencoded"), "\(notForm)")
            #expect(try Self.ring(base).shards.map(\.id) == [id], "refused calls changed nothing")

            let gossip = try #require(HTTP.request(base + "/memberlist", headers: ["Accept": "application/json"]))
            #expect(gossip.status == 200)
            let object = try JSONSerialization.jsonObject(with: gossip.body) as? [String: Any]
            #expect(object?.count == 1 && object?["gossip"] as? Bool == false, "\(gossip.text)")
            #expect(HTTP.request(base + "/memberlist")?.text.contains("Gossip is off") == true)

            let metrics = try #require(HTTP.request(base + "/metrics")).text
            #expect(Self.metric(metrics, "muninn_ring_members", "{state=\"ACTIVE\"}") == 1, "\(metrics)")
            #expect(Self.metric(metrics, "muninn_ring_members", "{state=\"UNHEALTHY\"}") == 0)
            #expect(Self.metric(metrics, "muninn_ring_tokens_owned_ratio") == 1)
            let lag = Self.metric(metrics, "muninn_ring_oldest_active_heartbeat_age_seconds")
            #expect(lag.map { $0 >= 0 && $0 < 120 } == true, "\(String(describing: lag))")
            #expect(!metrics.contains("muninn_gossip_"), "no gossip metrics without gossip")
        }

        /// The node's own flags cannot carry markup (IDs and zones are plain
        /// names), but a peer's gossip can: an entry whose ID and zone are
        /// markup, sent raw to the gossip port, is shown escaped.
        @Test func hostilePeerEntriesAreEscaped() throws {
            let gossip = freePort()
            let (node, port) = try startNode(
                temporaryDirectory("ring-page-hostile"),
                extra: ["--ring.store", "memberlist", "--instance-id", "a", "--gossip-port", String(gossip)])
            defer { node.stop() }
            let id = "<b>x\"&'", zone = "<i>z"
            let entry = InstanceDesc(
                id: id, addr: "<script>", zone: zone, state: .active, tokens: [7], generation: 1, timestamp: Clock.nowMillis())
            _ = try GossipWire(name: "<peer>").delta(RingDesc([entry]), to: gossip)
            let base = "http://127.0.0.1:\(port)"
            #expect(poll(timeout: 10) { (try? Self.ring(base).shards.count) == 2 })
            let page = try #require(HTTP.request(base + "/ingester/ring"))
            #expect(page.text.contains("&lt;b&gt;x&quot;&amp;&#39;") && page.text.contains("&lt;i&gt;z"), "\(page.text)")
            #expect(!page.text.contains("<b>x") && !page.text.contains("<i>z") && !page.text.contains("<script>"))
            #expect(page.text.contains("name=\"forget\" value=\"&lt;b&gt;x&quot;&amp;&#39;\""))
            let members = try #require(HTTP.request(base + "/memberlist"))
            #expect(members.text.contains("&lt;peer&gt;") && !members.text.contains("<peer>"), "\(members.text)")
        }

        /// Two gossiping nodes: A's page lists both ACTIVE, sharing the token
        /// space; A's /memberlist and metrics show B and the traffic. A Forget
        /// of B on A removes B from A's ring at once; B, still running, then
        /// registers again with a new registration time, as designed.
        @Test func twoNodeRingAndForget() throws {
            let (gossipA, gossipB) = (freePort(), freePort())
            let common = ["--ring.store", "memberlist", "--join", "127.0.0.1:\(gossipA)", "--heartbeat-period", "1s", "--heartbeat-timeout", "5s"]
            let (a, portA) = try startNode(
                temporaryDirectory("ring-page-a"), extra: common + ["--instance-id", "a", "--gossip-port", String(gossipA)])
            defer { a.stop() }
            let (b, _) = try startNode(
                temporaryDirectory("ring-page-b"), extra: common + ["--instance-id", "b", "--gossip-port", String(gossipB)])
            defer { b.stop() }
            let base = "http://127.0.0.1:\(portA)"

            var ring = try Self.ring(base)
            let converged = try poll {
                ring = try Self.ring(base)
                return ring.shards.map(\.id) == ["a", "b"] && ring.shards.allSatisfy { $0.state == "ACTIVE" && $0.tokens.count == 128 }
            }
            #expect(converged, "A's ring: \(ring.shards.map { ($0.id, $0.state) })\n\(a.output.suffix(2000))")
            guard converged else { return }
            let shares = ring.shards.map(\.ownership)
            #expect(abs(shares.reduce(0, +) - 1) < 1e-9 && shares.allSatisfy { $0 > 0 && $0 < 1 }, "\(shares)")
            let registeredB = try #require(ring.shards[1].registeredTimestamp)

            let gossip = try #require(HTTP.request(base + "/memberlist", headers: ["Accept": "application/json"]))
            let object = try #require(try JSONSerialization.jsonObject(with: gossip.body) as? [String: Any], "\(gossip.text)")
            #expect(object["gossip"] as? Bool == true && object["name"] as? String == "a")
            let members = object["members"] as? [[String: Any]] ?? []
            #expect(members.map { $0["name"] as? String } == ["b"] && members.first?["state"] as? String == "alive", "\(gossip.text)")
            #expect(((members.first?["messages_received"] as? Int) ?? 0) > 0, "\(gossip.text)")
            #expect(((object["counters"] as? [String: Any])?["messages_received"] as? Int ?? 0) > 0, "\(gossip.text)")
            #expect((object["ring"] as? [String: Any])?["members"] as? Int == 2, "\(gossip.text)")
            let html = try #require(HTTP.request(base + "/memberlist")).text
            #expect(html.contains("<td>b</td>") && html.contains("127.0.0.1:\(gossipB)"), "\(html)")

            let metrics = try #require(HTTP.request(base + "/metrics")).text
            #expect(Self.metric(metrics, "muninn_ring_members", "{state=\"ACTIVE\"}") == 2, "\(metrics)")
            #expect((Self.metric(metrics, "muninn_gossip_messages_received_total") ?? 0) > 0, "\(metrics)")
            #expect((Self.metric(metrics, "muninn_gossip_bytes_sent_total") ?? 0) > 0)
            #expect(Self.metric(metrics, "muninn_gossip_members", "{state=\"alive\"}") == 1)
            let owned = Self.metric(metrics, "muninn_ring_tokens_owned_ratio")
            #expect(owned.map { abs($0 - ring.shards[0].ownership) < 1e-6 } == true, "\(String(describing: owned))")

            let forgot = try Self.post(base + "/ingester/ring", body: "forget=b", headers: Self.form)
            #expect(forgot.status == 302 && forgot.location == base + "/ingester/ring", "\(forgot)")
            // The tombstone is in A's ring before the answer; B comes back only
            // after it has heard of it and heartbeated, a gossip round trip later.
            #expect(try Self.ring(base).shards.map(\.id) == ["a"])
            var back: Shard?
            let returned = try poll {
                back = try Self.ring(base).shards.first { $0.id == "b" }
                return back?.state == "ACTIVE" && (back?.registeredTimestamp ?? "") > registeredB
            }
            #expect(returned, "B did not register again: \(String(describing: back))\n\(b.output.suffix(2000))")

            // Killed without leaving: its stored state stays ACTIVE, the page
            // shows it UNHEALTHY once the heartbeat is older than the timeout.
            b.stop(SIGKILL)
            var seen: [(String, String)] = []
            let unhealthy = try poll {
                seen = try Self.ring(base).shards.map { ($0.id, $0.state) }
                return seen.contains { $0 == ("b", "UNHEALTHY") }
            }
            #expect(unhealthy, "\(seen)")
            let page = try #require(HTTP.request(base + "/ingester/ring")).text
            #expect(page.contains("<span class=\"state UNHEALTHY\">UNHEALTHY</span>"), "\(page)")
            let after = try #require(HTTP.request(base + "/metrics")).text
            #expect(Self.metric(after, "muninn_ring_members", "{state=\"UNHEALTHY\"}") == 1, "\(after)")
            #expect(Self.metric(after, "muninn_ring_members", "{state=\"ACTIVE\"}") == 1)
            #expect((Self.metric(after, "muninn_ring_oldest_active_heartbeat_age_seconds") ?? 0) > 5, "the dead member's heartbeat ages")
        }

        /// Headless Chromium renders the page of a 3-node ring
        /// (scripts/ring-page-screenshot.sh) into a PNG of some substance.
        @Test func browserRendersTheRingPage() throws {
            guard Subprocess.find("chromium") != nil else {
                Issue.record("chromium not installed: run scripts/install-deps.sh (Debian package 'chromium')")
                return
            }
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            let png = temporaryDirectory("ring-page-screenshot") + "/ring.png"
            let result = try Subprocess.run(
                root.appendingPathComponent("scripts/ring-page-screenshot.sh").path, [png, muninnBinary().path], timeout: 300)
            #expect(result.succeeded, "\(result.stdout)\n\(result.stderr)")
            let bytes = (try? Data(contentsOf: URL(fileURLWithPath: png))) ?? Data()
            #expect(bytes.count > 10_000, "\(png): \(bytes.count) bytes")
            #expect(bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]), "not a PNG")
        }
    }
}
