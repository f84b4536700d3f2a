import CStorage
import Foundation

/// Interned label strings: each distinct name or value is stored once and
/// referred to by a 32-bit id. Not thread-safe; the head's lock guards it.
///
/// Each symbol counts the label slots of live series that use it, so the head
/// knows how much of the table is dead and when rebuilding it pays off.
///
/// Lookups hash the UTF-8 bytes with the C hash and probe an open-addressing
/// table of ids, comparing bytes against a contiguous arena — byte identity as
/// Prometheus has it (Swift's `String ==` would merge canonically equivalent
/// spellings), and none of `Dictionary`'s per-lookup SipHash and bridging.
struct SymbolTable {
    /// Ids and arena offsets are 32-bit, and a slot holds id + 1.
    static let maxCount = Int(UInt32.max) - 1
    static let maxBytes = Int(UInt32.max)

    private(set) var strings: [String] = []
    private var arena: [UInt8] = []
    private var starts: [UInt32] = [0]
    private var hashes: [UInt32] = []
    private var uses: [UInt32] = []
    /// id + 1 per slot; 0 is empty. Load factor kept under 1/2.
    private var slots: [UInt32] = [UInt32](repeating: 0, count: 64)
    let seed: UInt64
    /// Symbols no live series uses, and their bytes.
    private(set) var deadCount = 0
    private(set) var deadBytes = 0

    init(seed: UInt64) { self.seed = seed }

    var count: Int { strings.count }
    /// UTF-8 bytes of all symbols.
    var byteCount: Int { arena.count }

    subscript(id: UInt32) -> String { strings[Int(id)] }

    /// Whether `symbols` more symbols of `bytes` bytes in all still fit.
    func hasRoom(symbols: Int, bytes: Int) -> Bool {
        symbols <= Self.maxCount - count && bytes <= Self.maxBytes - byteCount
    }

    /// One more label slot of a live series uses `id`.
    mutating func retain(_ id: UInt32) {
        let i = Int(id)
        if uses[i] == 0 {
            deadCount -= 1
            deadBytes -= length(i)
        }
        uses[i] += 1
    }

    /// One label slot using `id` went away with its series.
    mutating func release(_ id: UInt32) {
        let i = Int(id)
        uses[i] -= 1
        if uses[i] == 0 {
            deadCount += 1
            deadBytes += length(i)
        }
    }

    private func length(_ i: Int) -> Int { Int(starts[i + 1]) - Int(starts[i]) }

    mutating func intern(_ s: String) -> UInt32 {
        var copy = s
        return copy.withUTF8 { intern(bytes: $0, string: s) }
    }

    /// Interns raw UTF-8 (e.g. a span of a WAL record); a `String` is made only
    /// for a symbol not seen before.
    /// The caller has made sure there is room (`Head.indexProblem`).
    mutating func intern(bytes: UnsafeBufferPointer<UInt8>, string: String? = nil) -> UInt32 {
        let h = hash(bytes)
        let (slot, found) = probe(bytes, h)
        if let found { return found }
        return insert(bytes, string ?? String(decoding: bytes, as: UTF8.self), h, slot)
    }

    /// Interns symbol `id` of `other`, a table with the same seed: neither a
    /// new `String` nor rehashing.
    mutating func intern(_ id: UInt32, of other: SymbolTable) -> UInt32 {
        precondition(seed == other.seed)
        let i = Int(id), h = other.hashes[i]
        let start = Int(other.starts[i]), end = Int(other.starts[i + 1])
        return other.arena.withUnsafeBufferPointer { a in
            let bytes = UnsafeBufferPointer(rebasing: a[start..<end])
            let (slot, found) = probe(bytes, h)
            return found ?? insert(bytes, other.strings[i], h, slot)
        }
    }

    private mutating func insert(_ bytes: UnsafeBufferPointer<UInt8>, _ string: String, _ h: UInt32, _ slot: Int) -> UInt32 {
        precondition(hasRoom(symbols: 1, bytes: bytes.count), "symbol table full: callers check Head.indexProblem first")
        let id = UInt32(strings.count)
        strings.append(string)
        arena.append(contentsOf: bytes)
        starts.append(UInt32(arena.count))
        hashes.append(h)
        uses.append(0)
        deadCount += 1
        deadBytes += bytes.count
        slots[slot] = id + 1
        if strings.count * 2 > slots.count { grow() }
        return id
    }

    func id(_ s: String) -> UInt32? {
        var copy = s
        return copy.withUTF8 { probe($0, hash($0)).found }
    }

    /// Read-only probing through raw pointers, for lookups in bulk: a method
    /// call per symbol on the struct would retain and release its arrays each
    /// time. Valid only inside `withReader`.
    struct Reader {
        fileprivate let arena: UnsafePointer<UInt8>?
        fileprivate let starts: UnsafePointer<UInt32>
        fileprivate let hashes: UnsafePointer<UInt32>
        fileprivate let slots: UnsafeBufferPointer<UInt32>
        fileprivate let seed: UInt64

        /// The id of these UTF-8 bytes, if interned.
        func id(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32? {
            let h = SymbolTable.hash(bytes, seed)
            let mask = slots.count - 1
            var slot = Int(h) & mask
            while true {
                let entry = slots[slot]
                if entry == 0 { return nil }
                let id = Int(entry - 1)
                if hashes[id] == h {
                    let start = Int(starts[id]), length = Int(starts[id + 1]) - start
                    if length == bytes.count,
                        length == 0 || memcmp(arena! + start, bytes.baseAddress!, length) == 0
                    {
                        return UInt32(id)
                    }
                }
                slot = (slot + 1) & mask
            }
        }
    }

    /// Calls `body` with a reader over the table as it is; the table must not
    /// change until `body` returns.
    func withReader<R>(_ body: (Reader) throws -> R) rethrows -> R {
        try arena.withUnsafeBufferPointer { a in
            try starts.withUnsafeBufferPointer { st in
                try hashes.withUnsafeBufferPointer { h in
                    try slots.withUnsafeBufferPointer { sl in
                        try body(
                            Reader(arena: a.baseAddress, starts: st.baseAddress!, hashes: h.baseAddress ?? st.baseAddress!, slots: sl, seed: seed))
                    }
                }
            }
        }
    }

    fileprivate static func hash(_ bytes: UnsafeBufferPointer<UInt8>, _ seed: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: cs_hash64(bytes.baseAddress, bytes.count, seed))
    }

    private func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 { Self.hash(bytes, seed) }

    /// The slot holding `bytes` (found) or the empty slot where they would go.
    private func probe(_ bytes: UnsafeBufferPointer<UInt8>, _ h: UInt32) -> (slot: Int, found: UInt32?) {
        let mask = slots.count - 1
        var slot = Int(h) & mask
        return arena.withUnsafeBufferPointer { a in
            while true {
                let entry = slots[slot]
                if entry == 0 { return (slot, nil) }
                let id = Int(entry - 1)
                if hashes[id] == h {
                    let start = Int(starts[id]), length = Int(starts[id + 1]) - start
                    if length == bytes.count,
                        length == 0 || memcmp(a.baseAddress! + start, bytes.baseAddress!, length) == 0
                    {
                        return (slot, UInt32(id))
                    }
                }
                slot = (slot + 1) & mask
            }
        }
    }

    private mutating func grow() {
        var table = [UInt32](repeating: 0, count: slots.count * 2)
        let mask = table.count - 1
        for (id, h) in hashes.enumerated() {
            var slot = Int(h) & mask
            while table[slot] != 0 { slot = (slot + 1) & mask }
            table[slot] = UInt32(id + 1)
        }
        slots = table
    }
}
