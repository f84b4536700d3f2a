import Engine
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Remote read (`POST /api/v1/read`): Prometheus's `remote_read` runs PromQL
/// over Muninn. Answers SAMPLES (snappy protobuf) or STREAMED_XOR_CHUNKS
/// (one CRC-checked frame per series, flushed as written), as the client asks.
enum Read {
    static func register(on router: NodeRouter, _ state: NodeState) {
        router.post("/api/v1/read") { request, _ in
            try await Routes.handle(state, route: "read") { try await read(request, state) }
        }
    }

    static func read(_ request: Request, _ state: NodeState) async throws -> Response {
        guard let dbs = state.databases else { throw HTTPFailure(.unavailable, "node is \(state.phase.rawValue)") }
        let tenant = try await state.tenant(from: request.headers)
        let body = try await Push.collect(request, limit: state.config.server.maxRequestBytes,
                                          timeout: .seconds(state.config.server.readTimeoutSeconds))
        let query: RemoteReadRequest
        do {
            query = try RemoteReadRequest.decode(snappyBody: body, maxDecodedBytes: state.config.server.maxDecodedBytes)
        } catch {
            throw HTTPFailure(.badRequest, "invalid remote-read request: \(error)")
        }
        guard let type = query.negotiatedResponseType else {
            throw HTTPFailure(.badRequest, "none of the accepted response types is supported")
        }
        let db = try dbs.readable(tenant)
        var results: [[SeriesData]] = []
        for q in query.queries {
            results.append(try db?.select(mint: q.startMs, maxt: q.endMs, matchers: q.matchers) ?? [])
        }
        switch type {
        case .samples:
            let bytes = try RemoteRead.encodeSampledResponse(results, ranges: query.queries.map { ($0.startMs, $0.endMs) })
            return Response(status: .ok, headers: [.contentType: RemoteRead.protobufContentType,
                                                   .contentEncoding: RemoteRead.contentEncoding],
                            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        case .streamedXORChunks:
            let queries = query.queries
            let selected = results
            let body = ResponseBody { writer in
                let encoder = ChunkedResponseWriter()
                for (index, q) in queries.enumerated() {
                    var frames = encoder.frames(queryIndex: index, series: selected[index], mint: q.startMs, maxt: q.endMs)
                    while let frame = try frames.next() { try await writer.write(ByteBuffer(bytes: frame)) }
                }
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: [.contentType: RemoteRead.streamedContentType], body: body)
        }
    }
}
