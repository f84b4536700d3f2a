/// Sorted lists of series ids and the set operations queries combine them with.
enum Postings {
    static func intersect(_ a: [UInt32], _ b: [UInt32]) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(min(a.count, b.count))
        var i = 0, j = 0
        while i < a.count, j < b.count {
            if a[i] == b[j] { out.append(a[i]); i += 1; j += 1 }
            else if a[i] < b[j] { i += 1 }
            else { j += 1 }
        }
        return out
    }

    static func union(_ lists: [[UInt32]]) -> [UInt32] {
        if lists.count == 1 { return lists[0] }
        var all = lists.flatMap { $0 }
        all.sort()
        var out: [UInt32] = []
        out.reserveCapacity(all.count)
        for id in all where out.last != id { out.append(id) }
        return out
    }

    /// Ids of `a` not in `b`.
    static func subtract(_ a: [UInt32], _ b: [UInt32]) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(a.count)
        var j = 0
        for id in a {
            while j < b.count, b[j] < id { j += 1 }
            if j < b.count, b[j] == id { continue }
            out.append(id)
        }
        return out
    }

    /// Key of the postings list of one (name, value) symbol pair.
    @inline(__always)
    static func key(_ name: UInt32, _ value: UInt32) -> UInt64 { UInt64(name) << 32 | UInt64(value) }
}
