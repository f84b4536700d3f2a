import Engine
import Foundation
import Hummingbird
import NIOCore

/// Every HTTP endpoint of a node.
enum Routes {
    static func build(_ state: NodeState) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/ready") { _, _ in
            state.phase == .running
                ? text(.ok, "ready\n")
                : text(.serviceUnavailable, "not ready: \(state.phase.rawValue)\n")
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(bytes: state.metrics.render(state.databases))))
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
        router.post("/ingester/flush") { _, _ in
            try await handle(state, route: "flush") {
                guard let dbs = state.databases else { throw HTTPFailure(.unavailable, "node is \(state.phase.rawValue)") }
                let written = try dbs.flushAll()
                state.metrics.blocksCut(written)
                return Response(status: .noContent)
            }
        }
        router.post("/ingester/shutdown") { _, _ in
            try await handle(state, route: "shutdown") {
                guard let dbs = state.databases else { throw HTTPFailure(.unavailable, "node is \(state.phase.rawValue)") }
                state.metrics.blocksCut(try dbs.flushAll())
                state.shutdownRequested.fire()
                return Response(status: .noContent)
            }
        }
        Push.register(on: router, state)
        Read.register(on: router, state)
        return router
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
        } catch {
            state.logger.error("request failed", metadata: ["route": "\(route)", "error": "\(error)"])
            response = text(.internalServerError, "internal error: \(error)\n")
        }
        state.metrics.request(route: route, status: response.status.code, started: started)
        return response
    }

    static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static func json(_ status: HTTPResponse.Status, _ object: Any) throws -> Response {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
