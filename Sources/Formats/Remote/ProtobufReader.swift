import CStorage

/// Protobuf wire types (the low three bits of a field key). Numbers are fixed by
/// the protobuf encoding.
enum ProtobufWireType: UInt8, Sendable {
    case varint = 0
    case fixed64 = 1
    case lengthDelimited = 2
    case startGroup = 3
    case endGroup = 4
    case fixed32 = 5
}

/// Malformed protobuf: `offset` is where the bad element starts, counted from
/// the start of the whole decoded buffer (not of the nested message).
public struct ProtobufError: Error, Equatable, Sendable, CustomStringConvertible {
    public let offset: Int
    public let reason: String

    public init(offset: Int, reason: String) {
        self.offset = offset
        self.reason = reason
    }

    public var description: String { "offset \(offset): \(reason)" }
}

/// One field key as read from the wire.
struct ProtobufField: Sendable, Equatable {
    let number: UInt32
    let wireType: ProtobufWireType
    /// Offset of the key's first byte.
    let offset: Int
}

/// A bounds-checked cursor over one protobuf message, `bytes[offset..<end]`.
///
/// Every read checks its length against `end` (the end of the enclosing
/// message, not of the buffer) before touching a byte, and throws
/// `ProtobufError` with the element's absolute offset. Accepts what a proto3
/// decoder accepts: fields in any order, repeated scalars (callers keep the
/// last), packed or unpacked repeated numerics, unknown fields of wire types 0,
/// 1, 2 and 5 (skipped). Rejects groups (wire types 3 and 4, gone from proto3),
/// wire types 6 and 7, field number 0, keys beyond 32 bits, varints beyond 64
/// bits and strings that are not UTF-8. Nested messages share `bytes`, so
/// nothing is copied until a string or bytes field is read.
struct ProtobufReader: Sendable {
    let bytes: [UInt8]
    private(set) var offset: Int
    let end: Int

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.offset = 0
        self.end = bytes.count
    }

    private init(bytes: [UInt8], range: Range<Int>) {
        self.bytes = bytes
        self.offset = range.lowerBound
        self.end = range.upperBound
    }

    var isAtEnd: Bool { offset >= end }

    /// The next field's key, or nil at the end of the message.
    mutating func nextField() throws(ProtobufError) -> ProtobufField? {
        guard offset < end else { return nil }
        let start = offset
        let key = try readUvarint()
        guard key <= UInt64(UInt32.max) else { throw ProtobufError(offset: start, reason: "field key \(key) exceeds 32 bits") }
        let number = UInt32(key >> 3)
        guard number != 0 else { throw ProtobufError(offset: start, reason: "field number 0") }
        switch UInt8(key & 7) {
        case 0: return ProtobufField(number: number, wireType: .varint, offset: start)
        case 1: return ProtobufField(number: number, wireType: .fixed64, offset: start)
        case 2: return ProtobufField(number: number, wireType: .lengthDelimited, offset: start)
        case 5: return ProtobufField(number: number, wireType: .fixed32, offset: start)
        case 3, 4: throw ProtobufError(offset: start, reason: "field \(number): groups (wire type \(key & 7)) are not supported")
        default: throw ProtobufError(offset: start, reason: "field \(number): invalid wire type \(key & 7)")
        }
    }

    /// Skips the value of a field this decoder does not know.
    mutating func skip(_ field: ProtobufField) throws(ProtobufError) {
        switch field.wireType {
        case .varint: _ = try readUvarint()
        case .fixed64: _ = try take(8, what: "fixed64 value")
        case .fixed32: _ = try take(4, what: "fixed32 value")
        case .lengthDelimited: _ = try readLength()
        case .startGroup, .endGroup:
            throw ProtobufError(offset: field.offset, reason: "field \(field.number): groups are not supported")
        }
    }

    // MARK: Typed values of known fields

    /// A uint64/uint32/enum value; `name` labels errors.
    mutating func readUInt64(_ field: ProtobufField, _ name: String) throws(ProtobufError) -> UInt64 {
        try expect(field, .varint, name)
        return try readUvarint()
    }

    /// An int64 value (negative numbers arrive as 10-byte two's complement).
    mutating func readInt64(_ field: ProtobufField, _ name: String) throws(ProtobufError) -> Int64 {
        Int64(bitPattern: try readUInt64(field, name))
    }

    mutating func readBool(_ field: ProtobufField, _ name: String) throws(ProtobufError) -> Bool {
        try readUInt64(field, name) != 0
    }

    /// A fixed64 value, little-endian.
    mutating func readFixed64(_ field: ProtobufField, _ name: String) throws(ProtobufError) -> UInt64 {
        try expect(field, .fixed64, name)
        let range = try take(8, what: "fixed64 value")
        var value: UInt64 = 0
        for i in range.reversed() { value = value << 8 | UInt64(bytes[i]) }
        return value
    }

    mutating func readDouble(_ field: ProtobufField, _ name: String) throws(ProtobufError) -> Double {
        Double(bitPattern: try readFixed64(field, name))
    }

    mutating func readBytes(_ field: ProtobufField, _ name: String) throws(ProtobufError) -> [UInt8] {
        try expect(field, .lengthDelimited, name)
        return Array(bytes[try readLength()])
    }

    /// A string field; proto3 strings must be UTF-8, and Swift strings cannot
    /// hold anything else without changing the bytes.
    mutating func readString(_ field: ProtobufField, _ name: String) throws(ProtobufError) -> String {
        try expect(field, .lengthDelimited, name)
        let range = try readLength()
        guard let string = String(validating: bytes[range], as: UTF8.self) else {
            throw ProtobufError(offset: field.offset, reason: "\(name): string is not valid UTF-8")
        }
        return string
    }

    /// A reader over an embedded message's bytes.
    mutating func readMessage(_ field: ProtobufField, _ name: String) throws(ProtobufError) -> ProtobufReader {
        try expect(field, .lengthDelimited, name)
        return ProtobufReader(bytes: bytes, range: try readLength())
    }

    /// A repeated varint field's values in this occurrence: packed (wire type
    /// 2) or a single unpacked value (wire type 0); decoders accept both.
    mutating func readRepeatedUInt64(_ field: ProtobufField, _ name: String) throws(ProtobufError) -> [UInt64] {
        if field.wireType == .varint { return [try readUvarint()] }
        try expect(field, .lengthDelimited, name)
        var packed = ProtobufReader(bytes: bytes, range: try readLength())
        var values: [UInt64] = []
        while !packed.isAtEnd { values.append(try packed.readUvarint()) }
        return values
    }

    // MARK: Primitives

    mutating func readUvarint() throws(ProtobufError) -> UInt64 {
        var value: UInt64 = 0
        let rc = bytes.withUnsafeBufferPointer { b in
            // offset < end <= b.count whenever there is a byte to read.
            offset < end ? cs_get_uvarint(b.baseAddress! + offset, b.baseAddress! + end, &value) : CS_E_SHORT
        }
        guard rc > 0 else {
            let error = CodecError(code: rc)
            let reason =
                switch error.kind {
                case .truncated: "varint runs past the end of its message at \(end)"
                case .overflow: "varint exceeds 64 bits"
                default: "varint: \(error)"
                }
            throw ProtobufError(offset: offset, reason: reason)
        }
        offset += Int(rc)
        return value
    }

    /// A length prefix and the range of bytes it announces.
    private mutating func readLength() throws(ProtobufError) -> Range<Int> {
        let start = offset
        let length = try readUvarint()
        guard length <= UInt64(end - offset) else {
            throw ProtobufError(offset: start, reason: "length \(length) runs past the end of its message (\(end - offset) bytes left)")
        }
        defer { offset += Int(length) }
        return offset..<offset + Int(length)
    }

    private mutating func take(_ count: Int, what: String) throws(ProtobufError) -> Range<Int> {
        guard count <= end - offset else {
            throw ProtobufError(offset: offset, reason: "\(what) needs \(count) bytes, \(end - offset) left in its message")
        }
        defer { offset += count }
        return offset..<offset + count
    }

    private func expect(_ field: ProtobufField, _ wireType: ProtobufWireType, _ name: String) throws(ProtobufError) {
        guard field.wireType == wireType else {
            throw ProtobufError(
                offset: field.offset,
                reason: "\(name) (field \(field.number)) has wire type \(field.wireType.rawValue), want \(wireType.rawValue)")
        }
    }
}
