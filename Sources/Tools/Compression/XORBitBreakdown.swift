import CStorage

/// Where the bits of a set of XOR chunks go: the Gorilla paper's breakdown,
/// computed by `cs_xor_bits_add` walking the encoded chunks.
///
/// `parts` covers every bit exactly once, so `parts` sum to `totalBits =
/// 8 * chunkBytes`. Timestamp bits are the first and second sample's varints and
/// the delta-of-delta fields; value bits are the first sample's raw value and the
/// XOR-coded values; the rest is the per-chunk 16-bit count header and padding.
package struct XORBitBreakdown: Sendable, Equatable, Codable {
    /// One part of the encoding.
    package struct Part: Sendable, Equatable, Codable {
        /// Stable name: header, first_timestamp, first_value, second_timestamp,
        /// dod_0, dod_14, dod_17, dod_20, dod_64, value_same, value_reuse,
        /// value_new, padding.
        package let name: String
        /// The encoding's bits for this part, e.g. `10` + 14 bits.
        package let encoding: String
        /// How many fields of this kind (samples, or chunks for per-chunk parts).
        package let count: Int
        /// `count` over the fields this kind can occur as: all samples for the
        /// first and second sample parts, samples from a chunk's third on for
        /// delta-of-delta buckets, from its second on for value cases, chunks for
        /// header and padding.
        package let share: Double
        /// All bits of these fields, prefix/control included.
        package let bits: Int
        /// Of `bits`, the prefix or control bits (`10`, `11` + 5-bit L + 6-bit S).
        package let controlBits: Int
    }

    package let chunks: Int
    package let samples: Int
    package let chunkBytes: Int
    /// What a block's chunk segment adds per chunk: the uvarint length, the
    /// encoding byte and the CRC32C (not counting the 8-byte file header).
    package let recordOverheadBytes: Int
    package let parts: [Part]

    package var totalBits: Int { parts.reduce(0) { $0 + $1.bits } }
    package var timestampBits: Int { bits(of: ["first_timestamp", "second_timestamp", "dod_0", "dod_14", "dod_17", "dod_20", "dod_64"]) }
    package var valueBits: Int { bits(of: ["first_value", "value_same", "value_reuse", "value_new"]) }
    package var overheadBits: Int { bits(of: ["header", "padding"]) }

    package func bits(of names: Set<String>) -> Int {
        parts.filter { names.contains($0.name) }.reduce(0) { $0 + $1.bits }
    }

    package func part(_ name: String) -> Part? { parts.first { $0.name == name } }

    /// Bytes a chunk of `chunkLength` data bytes takes in a segment file beyond
    /// its data: uvarint length + encoding byte + CRC32C.
    package static func recordOverhead(chunkLength: Int) -> Int {
        var n = 1, v = chunkLength
        while v >= 0x80 { v >>= 7; n += 1 }
        return n + 1 + 4
    }

    init(_ b: cs_xor_bits, chunkBytes: Int, recordOverheadBytes: Int) {
        chunks = Int(b.chunks)
        samples = Int(b.samples)
        self.chunkBytes = chunkBytes
        self.recordOverheadBytes = recordOverheadBytes
        let dodCount = withUnsafeBytes(of: b.dod_count) { Array($0.bindMemory(to: UInt64.self)) }
        let dodBits = withUnsafeBytes(of: b.dod_bits) { Array($0.bindMemory(to: UInt64.self)) }
        let valueCount = withUnsafeBytes(of: b.value_count) { Array($0.bindMemory(to: UInt64.self)) }
        let valueControl = withUnsafeBytes(of: b.value_control_bits) { Array($0.bindMemory(to: UInt64.self)) }
        let valuePayload = withUnsafeBytes(of: b.value_payload_bits) { Array($0.bindMemory(to: UInt64.self)) }
        // A chunk of n samples has one first sample, a second one when n >= 2,
        // n - 2 delta-of-deltas and n - 1 XOR-coded values.
        let coded = valueCount.reduce(0, +), dods = dodCount.reduce(0, +)
        let all = max(samples, 1), perChunk = max(chunks, 1)
        let codedShare = max(Int(coded), 1), dodShare = max(Int(dods), 1)
        func part(_ name: String, _ encoding: String, _ count: UInt64, _ of: Int, _ bits: UInt64, _ control: UInt64 = 0) -> Part {
            Part(name: name, encoding: encoding, count: Int(count), share: Double(count) / Double(of), bits: Int(bits), controlBits: Int(control))
        }
        var parts = [
            part("header", "BE16 sample count", b.chunks, perChunk, b.header_bits),
            part("first_timestamp", "t0 varint", b.chunks, all, b.first_ts_bits),
            part("first_value", "64 raw bits", b.chunks, all, b.first_value_bits),
            part("second_timestamp", "t1-t0 uvarint", coded - dods, all, b.second_ts_bits)
        ]
        let buckets = [
            ("dod_0", "0"), ("dod_14", "10 + 14 bits"), ("dod_17", "110 + 17 bits"),
            ("dod_20", "1110 + 20 bits"), ("dod_64", "1111 + 64 bits")
        ]
        let prefixes: [UInt64] = [1, 2, 3, 4, 4]
        for (k, (name, encoding)) in buckets.enumerated() {
            parts.append(part(name, encoding, dodCount[k], dodShare, dodBits[k], dodCount[k] * prefixes[k]))
        }
        let cases = [("value_same", "0"), ("value_reuse", "10 + window bits"), ("value_new", "11 + 5 + 6 + meaningful bits")]
        for (k, (name, encoding)) in cases.enumerated() {
            parts.append(part(name, encoding, valueCount[k], codedShare, valueControl[k] + valuePayload[k], valueControl[k]))
        }
        parts.append(part("padding", "to the byte end (+ 2.x zero byte)", b.chunks, perChunk, b.padding_bits))
        self.parts = parts
    }
}
