/// The ring position of a series: Mimir's series token (`mimirpb`
/// `ShardByAllLabelAdapters`, cluster.md §2.1), bit for bit, so a series lands
/// where a Mimir distributor would put it on the same tokens.
///
/// The hash is 32-bit FNV-1 over the tenant ID, then every label's name and
/// value in order, with nothing between the strings. Two details differ from
/// what the name "fnv32a" in Mimir's docs suggests, and both are Mimir's:
/// each byte is mixed in by multiplying first and XOR-ing second (FNV-1, not
/// FNV-1a), and there are no separators, so `{a="bc"}` and `{ab="c"}` share a
/// token. Neither matters for placement: equal tokens only put two series on
/// the same replicas. Labels must be in canonical (sorted) order, as the
/// remote-write decoder and `Labels` keep them, or one series gets two tokens.
///
/// A value type with no storage beyond the running hash: hashing never
/// allocates. Hash the tenant once, then copy the seed per series:
///
///     let tenant = SeriesHash(tenant: id)
///     var h = tenant
///     h.add(name); h.add(value) // for each label
///     h.value
package struct SeriesHash: Sendable, Equatable {
    private static let offsetBasis: UInt32 = 2_166_136_261
    private static let prime: UInt32 = 16_777_619

    /// The hash so far; the series token once every label was added.
    package private(set) var value: UInt32

    /// The hash of nothing (FNV's offset basis).
    package init() { value = Self.offsetBasis }

    /// The tenant's seed (Mimir's `ShardByUser`), shared by all its series.
    package init(tenant: String) {
        self.init()
        add(tenant)
    }

    @inline(__always)
    private mutating func mix(_ byte: UInt8) {
        value = (value &* Self.prime) ^ UInt32(byte)
    }

    package mutating func add(_ bytes: UnsafeRawBufferPointer) {
        for byte in bytes { mix(byte) }
    }

    package mutating func add(_ bytes: some Sequence<UInt8>) {
        for byte in bytes { mix(byte) }
    }

    /// Adds the UTF-8 bytes of `string` (the bytes on the wire; Swift's
    /// Unicode equivalence plays no part).
    package mutating func add(_ string: String) {
        let done: Void? = string.utf8.withContiguousStorageIfAvailable { add(UnsafeRawBufferPointer($0)) }
        if done == nil { add(string.utf8) }
    }

    /// The token of one series of `tenant`, from its (name, value) pairs.
    package static func token(tenant: String, labels: some Sequence<(String, String)>) -> UInt32 {
        token(seed: SeriesHash(tenant: tenant), labels: labels)
    }

    /// The token of one series, from its tenant's precomputed seed.
    package static func token(seed: SeriesHash, labels: some Sequence<(String, String)>) -> UInt32 {
        var h = seed
        for (name, value) in labels {
            h.add(name)
            h.add(value)
        }
        return h.value
    }
}
