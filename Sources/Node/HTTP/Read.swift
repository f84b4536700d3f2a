import Engine
import Formats
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// Remote read (`POST /api/v1/read`): Prometheus's `remote_read` runs PromQL
/// over Muninn. Answers SAMPLES (snappy protobuf) or STREAMED_XOR_CHUNKS
/// (one CRC-checked frame per series, flushed as written), as the client asks,
/// within `read:` (`RemoteReadLimits`): a request over a limit gets 400 naming
/// it, one past the timeout 503. A streamed response that hits a limit or the
/// timeout after its first frames is cut (the connection closes without the
/// final chunk), so the client fails instead of taking a partial answer.
enum Read {
    static func register(on router: NodeRouter, _ state: NodeState) {
        router.post("/api/v1/read") { request, _ in
            try await Routes.handle(state, route: "read") { try await read(request, state) }
        }
    }

    static func read(_ request: Request, _ state: NodeState) async throws -> Response {
        guard let dbs = state.databases else { throw HTTPFailure(.unavailable, "node is \(state.phase.rawValue)") }
        let limits = state.config.read.remoteReadLimits
        let deadline = ContinuousClock.now + limits.timeout
        let tenant = try await state.tenant(from: request.headers)
        let body = try await Push.collect(
            request, limit: state.config.server.maxRequestBytes,
            timeout: .seconds(state.config.server.readTimeoutSeconds))
        let query: RemoteReadRequest
        do {
            query = try RemoteReadRequest.decode(snappyBody: body, maxDecodedBytes: state.config.server.maxDecodedBytes)
            try query.validate(limits)
        } catch {
            switch error {
            case .tooManyQueries: state.metrics.readRefused(route: "read", reason: "too-many-queries")
            case .noSelectiveMatcher: state.metrics.readRefused(route: "read", reason: "no-matcher")
            case .startAfterEnd: state.metrics.readRefused(route: "read", reason: "bad-range")
            default: break
            }
            throw HTTPFailure(.badRequest, "invalid remote-read request: \(error)")
        }
        guard let type = query.negotiatedResponseType else {
            throw HTTPFailure(.badRequest, "none of the accepted response types is supported")
        }
        // A tenant that failed to open is retried here: a WAL replay, so off the cooperative pool.
        let db = try await state.offload(state.queryPool) { try dbs.readable(tenant) }
        let queries = query.queries
        do {
            switch type {
            case .samples:
                let bytes = try await ReadWork.run(state) { try sampled(db, queries, limits, deadline) }
                return Response(
                    status: .ok,
                    headers: [
                        .contentType: RemoteRead.protobufContentType,
                        .contentEncoding: RemoteRead.contentEncoding
                    ],
                    body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
            case .streamedXORChunks:
                let producer = FrameProducer(db: db, queries: queries, limits: limits, deadline: deadline)
                // The first frames are made before answering, so a limit hit early still gets its status.
                let first = try await ReadWork.run(state) { try producer.nextBatch() }
                let body = ResponseBody { writer in
                    var batch = first
                    while !batch.isEmpty {
                        for frame in batch { try await writer.write(ByteBuffer(bytes: frame)) }
                        do {
                            batch = try await ReadWork.run(state) { try producer.nextBatch() }
                        } catch let error as ReadLimitError {
                            state.metrics.readRefused(route: "read", reason: ReadWork.reason(error))
                            state.logger.warning("streamed remote read cut", metadata: ["tenant": "\(tenant)", "reason": "\(error)"])
                            throw error
                        }
                    }
                    try await writer.finish(nil)
                }
                return Response(status: .ok, headers: [.contentType: RemoteRead.streamedContentType], body: body)
            }
        } catch let error as ReadLimitError {
            state.metrics.readRefused(route: "read", reason: ReadWork.reason(error))
            throw ReadWork.failure(error)
        }
    }

    /// The whole SAMPLES response, refused as soon as it passes a limit.
    private static func sampled(
        _ db: TenantDB?, _ queries: [RemoteReadRequest.Query], _ limits: RemoteReadLimits,
        _ deadline: ContinuousClock.Instant
    ) throws -> [UInt8] {
        var encoder = SampledResponseEncoder(maxSamples: limits.maxSamples, maxResponseBytes: limits.maxResponseBytes)
        var series = 0
        for q in queries {
            if let db {
                var cursor = try db.cursor(
                    mint: q.startMs, maxt: q.endMs, matchers: q.matchers,
                    bounds: ReadBounds(maxSeries: limits.maxSeries, deadline: deadline, seriesBefore: series))
                while let s = try cursor.next() { try encoder.add(s, mint: q.startMs, maxt: q.endMs) }
                series = cursor.count
            }
            try encoder.endQuery()
        }
        return encoder.finish()
    }
}

/// The frames of one STREAMED_XOR_CHUNKS response, made a batch at a time so
/// only the series being sent is decoded and in memory (beside the head's
/// copy each query's cursor holds).
final class FrameProducer: Sendable {
    private struct Progress: Sendable {
        var query = 0
        var cursor: SeriesCursor?
        var frames: ChunkedFrames?
        var series = 0
    }

    private let db: TenantDB?
    private let queries: [RemoteReadRequest.Query]
    private let limits: RemoteReadLimits
    private let deadline: ContinuousClock.Instant
    private let writer: ChunkedResponseWriter
    private let progress = Mutex(Progress())

    init(db: TenantDB?, queries: [RemoteReadRequest.Query], limits: RemoteReadLimits, deadline: ContinuousClock.Instant) {
        self.db = db
        self.queries = queries
        self.limits = limits
        self.deadline = deadline
        writer = ChunkedResponseWriter(maxFrameBytes: limits.maxBytesInFrame)
    }

    /// Frames of about `maxBytesInFrame` bytes together; empty once all are out.
    func nextBatch() throws -> [[UInt8]] {
        try progress.withLock { p in
            var out: [[UInt8]] = []
            var bytes = 0
            while bytes < limits.maxBytesInFrame {
                if p.frames != nil {
                    if let frame = try p.frames!.next() {
                        out.append(frame)
                        bytes += frame.count
                        continue
                    }
                    p.frames = nil
                }
                if p.cursor == nil {
                    guard p.query < queries.count else { break }
                    guard let db else { p.query = queries.count; break }
                    let q = queries[p.query]
                    p.cursor = try db.cursor(
                        mint: q.startMs, maxt: q.endMs, matchers: q.matchers,
                        bounds: ReadBounds(maxSeries: limits.maxSeries, deadline: deadline, seriesBefore: p.series))
                }
                let q = queries[p.query]
                if let series = try p.cursor!.next() {
                    p.frames = writer.frames(queryIndex: p.query, series: [series], mint: q.startMs, maxt: q.endMs)
                } else {
                    p.series = p.cursor!.count
                    p.cursor = nil
                    p.query += 1
                }
            }
            return out
        }
    }
}
