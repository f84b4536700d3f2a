import Engine
import HTTPTypes
import Hummingbird
import NIOCore

/// Remote-write ingestion (`POST /api/v1/push`, alias `/api/v1/write`).
enum Push {
    static func register(on router: Router<BasicRequestContext>, _ state: NodeState) {}

    /// The request body, or 413 when it is larger than `limit`.
    static func collect(_ request: Request, limit: Int) async throws -> [UInt8] {
        do {
            let buffer = try await request.body.collect(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw HTTPFailure(.payloadTooLarge, "request body larger than \(limit) bytes")
        }
    }
}
