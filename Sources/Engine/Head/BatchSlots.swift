/// Per-commit map from series id to a small slot number, as an open-addressing
/// table sized to the batch: it stays in L1 cache, unlike per-series arrays
/// that would cost a cache miss per sample in a head of millions of series.
struct BatchSlots {
    private var table: [UInt64] = []
    private var mask = 0

    /// Empties the table and sizes it for `entries` ids.
    mutating func reset(entries: Int) {
        var size = 16
        while size < entries * 2 { size <<= 1 }
        if table.count < size {
            table = [UInt64](repeating: 0, count: size)
        } else {
            table.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        }
        mask = size - 1
    }

    /// The slot stored for `id`, or the bucket where it would go.
    func find(_ id: Int) -> (bucket: Int, slot: Int?) {
        let key = UInt64(id) + 1
        var bucket = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
        while true {
            let e = table[bucket]
            if e == 0 { return (bucket, nil) }
            if e >> 32 == key { return (bucket, Int(e & 0xFFFF_FFFF)) }
            bucket = (bucket + 1) & mask
        }
    }

    mutating func set(bucket: Int, id: Int, slot: Int) {
        table[bucket] = (UInt64(id) + 1) << 32 | UInt64(slot)
    }
}
