import CStorage

/// A failure reported by the C core, translated once at the Swift boundary.
public struct CodecError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case truncated, corrupt, noSpace, outOfOrder, full, checksum
        case compression, invalidArgument, torn, overflow, unknown
    }

    public let kind: Kind
    public let code: Int32

    @usableFromInline package init(code: Int32) {
        self.code = code
        switch code {
        case CS_E_SHORT: kind = .truncated
        case CS_E_CORRUPT: kind = .corrupt
        case CS_E_NOSPACE: kind = .noSpace
        case CS_E_ORDER: kind = .outOfOrder
        case CS_E_FULL: kind = .full
        case CS_E_CRC: kind = .checksum
        case CS_E_COMPRESS: kind = .compression
        case CS_E_ARG: kind = .invalidArgument
        case CS_E_TORN: kind = .torn
        case CS_E_OVERFLOW: kind = .overflow
        default: kind = .unknown
        }
    }

    public var description: String { String(cString: cs_strerror(code)) }

    /// Returns `rc` when it is not negative, else throws the matching error.
    @discardableResult
    @inlinable package static func check<T: BinaryInteger>(_ rc: T) throws(CodecError) -> T {
        if rc < 0 { throw CodecError(code: Int32(rc)) }
        return rc
    }
}

/// A structural problem in a file: names the file and the byte offset where
/// reading stopped, so an operator (or a repair step) knows where to cut.
public struct FormatError: Error, Equatable, Sendable, CustomStringConvertible {
    public let file: String
    public let offset: Int
    public let reason: String

    public init(file: String, offset: Int, reason: String) {
        self.file = file
        self.offset = offset
        self.reason = reason
    }

    public var description: String { "\(file): offset \(offset): \(reason)" }
}
