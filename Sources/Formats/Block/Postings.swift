/// Sorted lists of series ids and the set operations queries combine them with.
package enum Postings {
    /// Intersection; when one list is much shorter its ids are looked up in the
    /// longer one by galloping search instead of a linear merge.
    package static func intersect(_ a: [UInt32], _ b: [UInt32]) -> [UInt32] {
        let (short, long) = a.count <= b.count ? (a, b) : (b, a)
        if short.count * 16 < long.count { return gallop(short, long) }
        var out: [UInt32] = []
        out.reserveCapacity(min(a.count, b.count))
        var i = 0, j = 0
        while i < a.count, j < b.count {
            if a[i] == b[j] { out.append(a[i]); i += 1; j += 1 } else if a[i] < b[j] { i += 1 } else { j += 1 }
        }
        return out
    }

    private static func gallop(_ short: [UInt32], _ long: [UInt32]) -> [UInt32] {
        var out: [UInt32] = []
        var lo = 0
        for id in short {
            var step = 1, hi = lo
            while hi < long.count, long[hi] < id { lo = hi + 1; hi = lo + step; step <<= 1 }
            hi = min(hi, long.count)
            while lo < hi {
                let mid = (lo + hi) / 2
                if long[mid] < id { lo = mid + 1 } else { hi = mid }
            }
            if lo == long.count { break }
            if long[lo] == id { out.append(id) }
        }
        return out
    }

    package static func union(_ lists: [[UInt32]]) -> [UInt32] {
        if lists.count == 1 { return lists[0] }
        var all = lists.flatMap { $0 }
        all.sort()
        var out: [UInt32] = []
        out.reserveCapacity(all.count)
        for id in all where out.last != id { out.append(id) }
        return out
    }

    /// Ids of `a` not in `b`.
    package static func subtract(_ a: [UInt32], _ b: [UInt32]) -> [UInt32] {
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
    @inlinable
    package static func key(_ name: UInt32, _ value: UInt32) -> UInt64 { UInt64(name) << 32 | UInt64(value) }
}
