import Engine
import Hummingbird

/// Remote-write ingestion (`POST /api/v1/push`, alias `/api/v1/write`).
enum Push {
    static func register(on router: Router<BasicRequestContext>, _ state: NodeState) {}
}
