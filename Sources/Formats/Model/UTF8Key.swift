import Foundation

/// A string hashed and compared by its UTF-8 bytes: Swift's `String` equality is
/// canonical equivalence, Prometheus's is byte equality.
@usableFromInline package struct UTF8Key: Hashable, Sendable {
    @usableFromInline let string: String

    @inlinable package init(_ string: String) { self.string = string }

    @inlinable package static func == (a: UTF8Key, b: UTF8Key) -> Bool { utf8Equal(a.string, b.string) }

    @inlinable package func hash(into hasher: inout Hasher) {
        var s = string
        s.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

/// Byte equality of two strings' UTF-8 (contiguous for native strings, so this
/// is a length check and a memcmp).
@inlinable func utf8Equal(_ a: String, _ b: String) -> Bool {
    var a = a, b = b
    return a.withUTF8 { x in
        b.withUTF8 { y in
            x.count == y.count && (x.count == 0 || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0)
        }
    }
}

/// Byte-wise order of two strings' UTF-8 (Prometheus's label order).
@inlinable package func utf8Less(_ a: String, _ b: String) -> Bool {
    var a = a, b = b
    return a.withUTF8 { x in
        b.withUTF8 { y in
            let n = min(x.count, y.count)
            let c = n == 0 ? 0 : memcmp(x.baseAddress!, y.baseAddress!, n)
            return c != 0 ? c < 0 : x.count < y.count
        }
    }
}
