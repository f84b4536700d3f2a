import Formats

@testable import Engine

// Tenant databases for tests: open one, name series, push samples, read all back.

/// The test clock stands a day after t0, so samples near t0 are never "in the future".
package func openDB(_ dir: String? = nil, limits: TenantLimits = TenantLimits(), now: Int64 = 1_700_000_000_000 + 86_400_000) throws -> TenantDB {
    let path = try dir ?? TestPaths.temporaryDirectory("db").path
    let db = try TenantDB.open(
        directory: path, tenant: "t",
        options: DatabaseOptions(
            wal: WALOptions(segmentSize: 8 * WAL.pageSize, fsync: .never), limits: limits))
    db.clock = { now }
    return db
}

package func series(_ name: String, _ extra: KeyValuePairs<String, String> = [:]) -> Labels {
    Labels([Label("__name__", name)] + extra.map { Label($0.key, $0.value) })
}

@discardableResult
package func push(_ db: TenantDB, _ labels: Labels, _ samples: [(Int64, Double)]) throws -> AppendOutcome {
    var batch = AppendBatch()
    batch.add(labels, samples.map { Sample(timestamp: $0.0, value: $0.1) })
    return try db.append(batch)
}

package func everything(_ db: TenantDB) throws -> [Labels: [Sample]] {
    var out: [Labels: [Sample]] = [:]
    for s in db.head.select(matchers: [try LabelMatcher(.regexMatch, "__name__", ".+")]) {
        out[s.labels] = try s.samples()
    }
    return out
}

package let t0: Int64 = 1_700_000_000_000

/// An hour in milliseconds: blocks cover two.
package let hour: Int64 = 3_600_000

/// The start of the 2-hour block range holding t0, so expected cut points are obvious.
package let base: Int64 = t0 / (2 * hour) * (2 * hour)
