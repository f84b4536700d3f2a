import Engine
import Foundation
import Hummingbird
import NIOCore

/// Every HTTP endpoint of a node.
enum Routes {
    static func build(_ state: NodeState) -> NodeRouter {
        let router = NodeRouter(context: NodeRequestContext.self)
        router.get("/ready") { _, _ in
            guard state.phase == .running else { return text(.serviceUnavailable, "not ready: \(state.phase.rawValue)\n") }
            // As Mimir: ready once this instance is ACTIVE in the ring (not
            // when the whole ring is healthy, which a dead peer would block).
            guard state.cluster.lifecycler.isActive else {
                return text(.serviceUnavailable, "not ready: not ACTIVE in the ring yet\n")
            }
            return text(.ok, "ready\n")
        }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: state.metrics.render(state.databases, cluster: state.cluster))))
        }
        for method in [HTTPRequest.Method.get, .post] {
            router.on("/api/v1/series", method: method) { request, _ in
                try await handle(state, route: "series") { try await QueryAPI.series(request, state) }
            }
            router.on("/api/v1/labels", method: method) { request, _ in
                try await handle(state, route: "labels") { try await QueryAPI.labels(request, state) }
            }
            router.on("/api/v1/label/{name}/values", method: method) { request, context in
                try await handle(state, route: "label_values") {
                    try await QueryAPI.labelValues(request, name: context.parameters.get("name") ?? "", state)
                }
            }
        }
        router.post("/ingester/flush") { request, context in
            try await handle(state, route: "flush") {
                try state.access.authorizeAdmin(request.headers, loopback: context.isLoopback)
                guard let dbs = state.databases else { throw HTTPFailure(.unavailable, "node is \(state.phase.rawValue)") }
                let written = try await state.offload(state.backgroundPool) { try dbs.flushAll() }
                state.metrics.blocksCut(written)
                return Response(status: .noContent)
            }
        }
        router.post("/ingester/shutdown") { request, context in
            try await handle(state, route: "shutdown") {
                try state.access.authorizeAdmin(request.headers, loopback: context.isLoopback)
                try await shutdown(state)
                return Response(status: .noContent)
            }
        }
        Push.register(on: router, state)
        Read.register(on: router, state)
        RingPages.register(on: router, state)
        return router
    }

    /// `POST /ingester/shutdown`: stop admitting requests first, let the pushes
    /// already admitted finish, then flush every head, then stop the process.
    /// Flushing first would lose what is acknowledged during the flush when the
    /// node's disk goes away with it (scale-down).
    static func shutdown(_ state: NodeState) async throws {
        guard state.phase == .running, let dbs = state.stopping() else { throw HTTPFailure(.unavailable, "node is \(state.phase.rawValue)") }
        state.cluster.unregisterRequested.store(true, ordering: .relaxed)
        let deadline = ContinuousClock.now + .seconds(state.config.server.shutdownGraceSeconds)
        while state.limiter.pushesInFlight > 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        state.logger.info("shutdown requested: writes stopped, flushing every tenant")
        let written = try await state.offload(state.backgroundPool) { try dbs.flushAll() }
        state.metrics.blocksCut(written)
        state.shutdownRequested.fire()
    }

    /// Runs a handler, maps failures to status codes with a plain-text reason,
    /// and records the request's latency.
    static func handle(_ state: NodeState, route: String, _ body: () async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let response: Response
        do {
            response = try await body()
        } catch let failure as HTTPFailure {
            var failed = text(HTTPResponse.Status(code: failure.status.rawValue), failure.message + "\n")
            if let seconds = failure.retryAfter { failed.headers[.retryAfter] = String(seconds) }
            response = failed
        } catch let error as RateLimitedError {
            response = text(.tooManyRequests, "\(error)\n")
        } catch let error as TenantUnavailableError {
            response = text(.serviceUnavailable, "\(error)\n")
        } catch {
            // The detail (paths, errno) is for the operator's log, not the client.
            state.logger.error("request failed", metadata: ["route": "\(route)", "error": "\(error)"])
            response = text(.internalServerError, "internal error while handling \(route); see the node's log\n")
        }
        state.metrics.request(route: route, status: response.status.code, started: started)
        return response
    }

    static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(
            status: status, headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static func json(_ status: HTTPResponse.Status, _ object: Any) throws -> Response {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
