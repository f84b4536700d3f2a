import Foundation
import Testing

/// Slow clients cannot hold a connection and a buffer for ever: a body that
/// does not arrive within `server.readTimeoutSeconds` gets 408, and a request
/// head that never completes is closed after `server.idleTimeoutSeconds`.
@Suite(.serialized) struct SlowClientTests {
    @Test func slowBodiesGet408AndIncompleteHeadsAreClosed() throws {
        let dir = temporaryDirectory("node-slow-clients")
        let config = try ConfigTests.write("server:\n  readTimeoutSeconds: 1\n  idleTimeoutSeconds: 2\n")
        let (node, port) = try startNode(dir, extra: ["--config", config])
        defer { node.stop() }

        // 10 of the 100 announced bytes, then silence (no half-close).
        let request = RawHTTP.build(
            "POST", Array("/api/v1/push".utf8),
            headers: [
                ("X-Scope-OrgID", Array("t".utf8)),
                ("Content-Length", Array("100".utf8))
            ], body: [UInt8](repeating: 0, count: 10))
        let reply = RawHTTP.exchange(port: port, request, timeout: 20)
        #expect(reply?.status == 408, "\(String(describing: reply))")

        // A request head that never ends: the server closes the connection.
        let started = Date()
        let closed = RawHTTP.exchange(port: port, Array("GET /ready HTTP/1.1\r\nHost: x\r\n".utf8), timeout: 20)
        #expect(closed == nil)
        #expect(Date().timeIntervalSince(started) < 15, "closed by the server, not by the client's own timeout")
        #expect(HTTP.request("http://127.0.0.1:\(port)/ready")?.status == 200)
    }
}
