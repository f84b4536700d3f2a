import Foundation

/// A block ID (`docs/format/blocks.md#ulid`): 48-bit big-endian Unix-millisecond time then
/// 80 random bits, written as 26 Crockford base32 characters. Ordering compares
/// the 128 bits, which is the order of the text forms, so sorting by ULID sorts
/// by creation time.
public struct ULID: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    /// Bits 127…64: the time in the top 48 bits, then 16 random bits.
    public let high: UInt64
    /// Bits 63…0: random.
    public let low: UInt64

    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)
    public static let textLength = 26
    public static let maxMilliseconds: UInt64 = (1 << 48) - 1

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// A ULID for `milliseconds` since the epoch (at most `maxMilliseconds`, the
    /// year 10889) with 80 bits drawn from `generator`.
    public init(milliseconds: UInt64, using generator: inout some RandomNumberGenerator) {
        precondition(milliseconds <= Self.maxMilliseconds, "ULID time \(milliseconds) ms needs more than 48 bits")
        high = milliseconds << 16 | generator.next() & 0xFFFF
        low = generator.next()
    }

    /// A fresh ULID for the current wall-clock time, as Prometheus names a new
    /// block (`ulid.MustNew(ulid.Now(), rand.Reader)`).
    public static func make(at date: Date = Date()) -> ULID {
        var generator = SystemRandomNumberGenerator()
        let ms = UInt64(max(0, (date.timeIntervalSince1970 * 1000).rounded(.down)))
        return ULID(milliseconds: min(ms, maxMilliseconds), using: &generator)
    }

    /// The creation time in Unix milliseconds.
    public var milliseconds: UInt64 { high >> 16 }

    /// Parses the 26-character text form. Lowercase is accepted (as oklog/ulid
    /// does); `I`, `L`, `O`, `U` and a first character above `7` (more than 128
    /// bits) are not.
    public init?(_ text: some StringProtocol) {
        var high: UInt64 = 0, low: UInt64 = 0
        var count = 0
        for c in text.utf8 {
            count += 1
            guard count <= Self.textLength, let v = Self.digit(c) else { return nil }
            if count == 1, v > 7 { return nil }
            high = high << 5 | low >> 59
            low = low << 5 | UInt64(v)
        }
        guard count == Self.textLength else { return nil }
        self.init(high: high, low: low)
    }

    private static func digit(_ c: UInt8) -> UInt8? {
        let upper = c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z") ? c - 32 : c
        guard let i = alphabet.firstIndex(of: upper) else { return nil }
        return UInt8(i)
    }

    /// The canonical (uppercase) text form.
    public var description: String {
        var chars = [UInt8](repeating: 0, count: Self.textLength)
        for i in 0..<Self.textLength {
            let shift = 5 * (Self.textLength - 1 - i)
            let v: UInt64
            if shift >= 64 {
                v = high >> (shift - 64)
            } else if shift + 5 <= 64 {
                v = low >> shift
            } else {
                v = low >> shift | high << (64 - shift)
            }
            chars[i] = Self.alphabet[Int(v & 31)]
        }
        return String(decoding: chars, as: UTF8.self)
    }

    public static func < (a: ULID, b: ULID) -> Bool {
        (a.high, a.low) < (b.high, b.low)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let ulid = ULID(text) else {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: decoder.codingPath,
                    debugDescription: "invalid ULID \"\(text)\""))
        }
        self = ulid
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
