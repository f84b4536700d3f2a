/// Appends protobuf fields to a byte array, as proto3 encoders write them:
/// scalars equal to zero and empty strings are omitted (decoders read absent
/// as zero), repeated numerics are packed, embedded messages are always
/// written (an empty element of a repeated message field still counts).
///
/// One exception to "zero is omitted": a double is omitted only when its bit
/// pattern is zero, so -0.0 keeps its sign (Go's encoder drops it).
struct ProtobufWriter: Sendable {
    private(set) var bytes: [UInt8]

    init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    // MARK: Sizes

    /// Bytes a uvarint of `value` takes: 1 to 10.
    static func uvarintSize(_ value: UInt64) -> Int {
        (64 - (value | 1).leadingZeroBitCount + 6) / 7
    }

    /// Bytes of a key of `field` (any wire type).
    static func keySize(_ field: UInt32) -> Int { uvarintSize(UInt64(field) << 3) }

    /// Bytes of a length-delimited field whose value is `length` bytes long.
    static func lengthDelimitedSize(_ field: UInt32, length: Int) -> Int {
        keySize(field) + uvarintSize(UInt64(length)) + length
    }

    /// Bytes of an int64 field as `writeInt64` writes it (0 when omitted).
    static func int64Size(_ field: UInt32, _ value: Int64) -> Int {
        value == 0 ? 0 : keySize(field) + uvarintSize(UInt64(bitPattern: value))
    }

    // MARK: Primitives

    mutating func writeUvarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func writeKey(_ field: UInt32, _ wireType: ProtobufWireType) {
        writeUvarint(UInt64(field) << 3 | UInt64(wireType.rawValue))
    }

    /// Raw bytes, for a message body whose size the caller already wrote.
    mutating func writeRaw<C: Collection>(_ raw: C) where C.Element == UInt8 {
        bytes.append(contentsOf: raw)
    }

    // MARK: Fields

    /// A uint64/uint32/enum/bool field; omitted when 0.
    mutating func writeUInt64(_ field: UInt32, _ value: UInt64) {
        guard value != 0 else { return }
        writeKey(field, .varint)
        writeUvarint(value)
    }

    /// An int64 field; negative values take 10 bytes (two's complement). Omitted when 0.
    mutating func writeInt64(_ field: UInt32, _ value: Int64) {
        writeUInt64(field, UInt64(bitPattern: value))
    }

    mutating func writeBool(_ field: UInt32, _ value: Bool) {
        writeUInt64(field, value ? 1 : 0)
    }

    /// A double as fixed64 little-endian; omitted only when its bits are all zero.
    mutating func writeDouble(_ field: UInt32, _ value: Double) {
        let bits = value.bitPattern
        guard bits != 0 else { return }
        writeKey(field, .fixed64)
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
    }

    /// A bytes field; omitted when empty.
    mutating func writeBytes<C: Collection>(_ field: UInt32, _ value: C) where C.Element == UInt8 {
        guard !value.isEmpty else { return }
        writeKey(field, .lengthDelimited)
        writeUvarint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// A string field (its UTF-8 bytes); omitted when empty.
    mutating func writeString(_ field: UInt32, _ value: String) {
        writeBytes(field, value.utf8)
    }

    /// A packed repeated varint field; omitted when empty.
    mutating func writePackedUInt64(_ field: UInt32, _ values: [UInt64]) {
        guard !values.isEmpty else { return }
        writeKey(field, .lengthDelimited)
        writeUvarint(UInt64(values.reduce(0) { $0 + Self.uvarintSize($1) }))
        for value in values { writeUvarint(value) }
    }

    /// An embedded message written by `body`. The length is not known up
    /// front: one byte is reserved for it and the body moved up if the length
    /// needs more. Callers that know the size use `writeKey`, `writeUvarint`
    /// and the field writers directly instead.
    mutating func writeMessage<E: Error>(_ field: UInt32, _ body: (inout ProtobufWriter) throws(E) -> Void) throws(E) {
        writeKey(field, .lengthDelimited)
        let lengthAt = bytes.count
        bytes.append(0)
        try body(&self)
        let length = bytes.count - lengthAt - 1
        let size = Self.uvarintSize(UInt64(length))
        if size > 1 { bytes.insert(contentsOf: repeatElement(0, count: size - 1), at: lengthAt + 1) }
        var v = UInt64(length)
        for i in 0..<size {
            bytes[lengthAt + i] = UInt8(truncatingIfNeeded: v) | (i < size - 1 ? 0x80 : 0)
            v >>= 7
        }
    }
}
