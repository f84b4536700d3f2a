/// Series ids by label-set hash: open addressing with linear probing over
/// raw memory, so a lookup costs no hashing of the key (it already is a hash),
/// no reference counting, and usually one cache line. Equal hashes (distinct
/// label sets that collide) simply occupy several slots. Not thread-safe; the
/// head's lock guards it.
final class SeriesHashTable {
    private static let empty = UInt32.max
    private var keys: UnsafeMutablePointer<UInt64>
    private var ids: UnsafeMutablePointer<UInt32>
    private var capacity: Int
    private(set) var count = 0

    init(capacity: Int = 1024) {
        var size = 16
        while size < capacity { size <<= 1 }
        self.capacity = size
        keys = .allocate(capacity: size)
        ids = .allocate(capacity: size)
        ids.initialize(repeating: Self.empty, count: size)
        keys.initialize(repeating: 0, count: size)
    }

    deinit {
        keys.deallocate()
        ids.deallocate()
    }

    /// The first id stored under `hash` for which `match` holds.
    @inline(__always)
    func find(_ hash: UInt64, where match: (UInt32) -> Bool) -> UInt32? {
        let mask = capacity - 1
        var slot = Self.home(hash, mask)
        while true {
            let id = ids[slot]
            if id == Self.empty { return nil }
            if keys[slot] == hash, match(id) { return id }
            slot = (slot + 1) & mask
        }
    }

    /// Adds `id` under `hash` (the same id must not be added twice).
    func insert(_ hash: UInt64, _ id: UInt32) {
        precondition(id != Self.empty)
        if (count + 1) * 4 > capacity * 3 { resize(capacity * 2) }
        let mask = capacity - 1
        var slot = Self.home(hash, mask)
        while ids[slot] != Self.empty { slot = (slot + 1) & mask }
        keys[slot] = hash
        ids[slot] = id
        count += 1
    }

    /// Removes `id` stored under `hash`; false if it is not there.
    @discardableResult
    func remove(_ hash: UInt64, _ id: UInt32) -> Bool {
        let mask = capacity - 1
        var hole = Self.home(hash, mask)
        while ids[hole] != id || keys[hole] != hash {
            if ids[hole] == Self.empty { return false }
            hole = (hole + 1) & mask
        }
        // Backward-shift deletion: pull later entries of the probe run into the
        // hole when their home slot does not lie between the hole and them.
        var next = hole
        while true {
            next = (next + 1) & mask
            if ids[next] == Self.empty { break }
            let home = Self.home(keys[next], mask)
            let reachable = hole <= next ? (home <= hole || home > next) : (home <= hole && home > next)
            if reachable {
                keys[hole] = keys[next]
                ids[hole] = ids[next]
                hole = next
            }
        }
        ids[hole] = Self.empty
        count -= 1
        return true
    }

    /// Bytes of memory held.
    var byteCount: Int { capacity * 12 }

    @inline(__always)
    private static func home(_ hash: UInt64, _ mask: Int) -> Int {
        // The label hash is already well mixed; fold the high half in anyway.
        Int(truncatingIfNeeded: hash ^ (hash >> 32)) & mask
    }

    private func resize(_ size: Int) {
        let oldKeys = keys, oldIds = ids, oldCapacity = capacity
        capacity = size
        keys = .allocate(capacity: size)
        ids = .allocate(capacity: size)
        ids.initialize(repeating: Self.empty, count: size)
        keys.initialize(repeating: 0, count: size)
        let mask = size - 1
        for i in 0..<oldCapacity where oldIds[i] != Self.empty {
            var slot = Self.home(oldKeys[i], mask)
            while ids[slot] != Self.empty { slot = (slot + 1) & mask }
            keys[slot] = oldKeys[i]
            ids[slot] = oldIds[i]
        }
        oldKeys.deallocate()
        oldIds.deallocate()
    }
}
