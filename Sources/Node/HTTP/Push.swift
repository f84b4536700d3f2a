import Engine
import Formats
import HTTPTypes
import Hummingbird
import NIOCore

/// Remote-write 1.0 ingestion (`POST /api/v1/push`, alias `/api/v1/write`).
///
/// 204 once every sample is in the WAL. 400 when the body is malformed, or when
/// some series or samples were refused — the valid ones are still stored and the
/// message names the first refusal. 413 for an oversized body, 415 for
/// remote-write 2.0, 429 for the tenant's rate limit, 503 with `Retry-After`
/// while the node starts or stops, is over an instance limit, or the tenant's
/// disk refuses writes (clients retry; nothing of a 503 request is
/// acknowledged). Exemplars and metadata are accepted, counted and dropped;
/// native histograms are refused with 400.
enum Push {
    static func register(on router: NodeRouter, _ state: NodeState) {
        for path in ["/api/v1/push", "/api/v1/write"] {
            router.post(RouterPath(path)) { request, _ in
                try await Routes.handle(state, route: "push") { try await push(request, state) }
            }
        }
    }

    static func push(_ request: Request, _ state: NodeState) async throws -> Response {
        state.limiter.startPush()
        defer { state.limiter.finishPush() }
        try state.limiter.checkPushes()
        guard let dbs = state.databases else { throw HTTPFailure(.unavailable, "node is \(state.phase.rawValue)") }
        let tenant = try await state.tenant(from: request.headers)
        if let type = request.headers[.contentType], type.contains("io.prometheus.write.v2") {
            throw HTTPFailure(.unsupportedMediaType, "remote-write 2.0 is not supported; send prometheus.WriteRequest (1.0)")
        }
        let body = try await collect(
            request, limit: state.config.server.maxRequestBytes,
            timeout: .seconds(state.config.server.readTimeoutSeconds))
        state.limiter.addPushBytes(body.count)
        defer { state.limiter.removePushBytes(body.count) }
        try state.limiter.checkPushBytes()
        let decoded: RemoteWriteBatch
        do {
            decoded = try RemoteWrite.decodeBatch(
                snappyBody: body, maxDecodedBytes: state.config.server.maxDecodedBytes,
                requireMetricName: true)
        } catch {
            if case .tooLarge = error.kind { throw HTTPFailure(.payloadTooLarge, "\(error)") }
            throw HTTPFailure(.badRequest, "invalid remote-write request: \(error)")
        }
        let batch = decoded.batch, invalid = decoded.invalidSamples
        var outcome = AppendOutcome()
        if !batch.isEmpty {
            try state.limiter.checkIngest(samples: batch.sampleCount, tenant: tenant, databases: dbs)
            do {
                // The commit takes the head lock (and may open the tenant's
                // database): a pool thread does it; the fsync wait only suspends.
                let (db, staged) = try await state.offload(state.ingestPool) {
                    let db = try dbs.database(for: tenant)
                    return (db, try db.stage(batch))
                }
                outcome = try await db.durable(staged)
            } catch is WALClosedError {
                throw HTTPFailure(.unavailable, "node is stopping", retryAfter: 1)
            } catch let fault as StorageFaultError {
                throw HTTPFailure(
                    .unavailable, "storage unavailable for tenant \(tenant): \(fault); nothing of this request is acknowledged, retry later",
                    retryAfter: fault.needsRestart ? 60 : 5)
            }
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

    /// The request body; 413 when it is larger than `limit`, 408 when it does
    /// not arrive within `timeout` (a client sending a byte now and then must
    /// not hold a connection and a buffer forever), 400 when it cannot be read
    /// (shorter than its Content-Length, a malformed chunk): the client's fault.
    static func collect(_ request: Request, limit: Int, timeout: Duration) async throws -> [UInt8] {
        let body = request.body
        return try await withThrowingTaskGroup(of: [UInt8]?.self) { group in
            group.addTask {
                do {
                    let buffer = try await body.collect(upTo: limit)
                    return Array(buffer.readableBytesView)
                } catch let error as HTTPError where error.status == .contentTooLarge {
                    throw HTTPFailure(.payloadTooLarge, "request body larger than \(limit) bytes")
                } catch is NIOTooManyBytesError {
                    throw HTTPFailure(.payloadTooLarge, "request body larger than \(limit) bytes")
                } catch is CancellationError {
                    return nil
                } catch {
                    throw HTTPFailure(.badRequest, "could not read the request body: \(error)")
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let bytes = first else {
                throw HTTPFailure(.requestTimeout, "request body not received within \(timeout.components.seconds)s")
            }
            return bytes
        }
    }
}
