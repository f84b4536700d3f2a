import Engine
import HTTPTypes
import Hummingbird
import NIOCore

/// Remote-write 1.0 ingestion (`POST /api/v1/push`, alias `/api/v1/write`).
///
/// 204 once every sample is in the WAL. 400 when the body is malformed, or when
/// some series or samples were refused — the valid ones are still stored and the
/// message names the first refusal. 413 for an oversized body, 415 for
/// remote-write 2.0, 429 for the tenant's rate limit, 503 while the node starts
/// or stops (clients retry). Exemplars and metadata are accepted, counted and
/// dropped; native histograms are refused with 400.
enum Push {
    static func register(on router: Router<BasicRequestContext>, _ state: NodeState) {
        for path in ["/api/v1/push", "/api/v1/write"] {
            router.post(RouterPath(path)) { request, _ in
                try await Routes.handle(state, route: "push") { try await push(request, state) }
            }
        }
    }

    static func push(_ request: Request, _ state: NodeState) async throws -> Response {
        guard let dbs = state.databases else { throw HTTPFailure(.unavailable, "node is \(state.phase.rawValue)") }
        let tenant = try state.tenant(from: request.headers)
        if let type = request.headers[.contentType], type.contains("io.prometheus.write.v2") {
            throw HTTPFailure(.unsupportedMediaType, "remote-write 2.0 is not supported; send prometheus.WriteRequest (1.0)")
        }
        let body = try await collect(request, limit: state.config.server.maxRequestBytes)
        let decoded: RemoteWriteBatch
        do {
            decoded = try RemoteWrite.decodeBatch(snappyBody: body, maxDecodedBytes: state.config.server.maxDecodedBytes)
        } catch {
            if case .tooLarge = error.kind { throw HTTPFailure(.payloadTooLarge, "\(error)") }
            throw HTTPFailure(.badRequest, "invalid remote-write request: \(error)")
        }
        let batch = decoded.batch, invalid = decoded.invalidSamples
        let outcome: AppendOutcome
        do {
            outcome = batch.isEmpty ? AppendOutcome() : try dbs.database(for: tenant).append(batch)
        } catch is WALClosedError {
            throw HTTPFailure(.unavailable, "node is stopping")
        }
        state.metrics.ingested(tenant: tenant, samples: outcome.accepted)
        for (reason, n) in outcome.rejected { state.metrics.rejected(tenant: tenant, reason: reason.rawValue, samples: n) }
        if invalid > 0 { state.metrics.rejected(tenant: tenant, reason: "invalid-series", samples: invalid) }

        let stored = "\(outcome.accepted) samples stored"
        if let error = decoded.firstLabelError {
            throw HTTPFailure(.badRequest, "\(error) (\(stored))")
        }
        if let first = outcome.firstRejection {
            let others = outcome.rejectedCount - 1
            throw HTTPFailure(.badRequest, "\(first)\(others > 0 ? " and \(others) more rejected samples" : "") (\(stored))")
        }
        if decoded.histogramCount > 0 {
            throw HTTPFailure(.badRequest, "native histograms are not supported: \(decoded.histogramCount) dropped (\(stored))")
        }
        return Response(status: .noContent)
    }

    /// The request body; 413 when it is larger than `limit`, 400 when it
    /// cannot be read (shorter than its Content-Length, a malformed chunk):
    /// the client's fault, not a failed request.
    static func collect(_ request: Request, limit: Int) async throws -> [UInt8] {
        do {
            let buffer = try await request.body.collect(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw HTTPFailure(.payloadTooLarge, "request body larger than \(limit) bytes")
        } catch is NIOTooManyBytesError {
            throw HTTPFailure(.payloadTooLarge, "request body larger than \(limit) bytes")
        } catch {
            throw HTTPFailure(.badRequest, "could not read the request body: \(error)")
        }
    }
}
