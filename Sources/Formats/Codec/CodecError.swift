import CStorage

/// A failure reported by the C core, translated once at the Swift boundary.
public struct CodecError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable, CaseIterable {
        case truncated, corrupt, noSpace, outOfOrder, full, checksum
        case compression, invalidArgument, torn, overflow, duplicate, unknown
    }

    public let kind: Kind
    public let code: Int32

    /// Every `CS_E_*` code of cs_error.h with its kind: the one place C error
    /// codes become Swift (CodecErrorTests fails when cs_error.h gains a code
    /// that is missing here). Messages come from `cs_strerror`.
    package static let kinds: [(code: Int32, kind: Kind)] = [
        (CS_E_SHORT, .truncated), (CS_E_CORRUPT, .corrupt), (CS_E_NOSPACE, .noSpace),
        (CS_E_ORDER, .outOfOrder), (CS_E_FULL, .full), (CS_E_CRC, .checksum),
        (CS_E_COMPRESS, .compression), (CS_E_ARG, .invalidArgument), (CS_E_TORN, .torn),
        (CS_E_OVERFLOW, .overflow), (CS_E_DUPLICATE, .duplicate)
    ]

    @usableFromInline package init(code: Int32) {
        self.code = code
        kind = Self.kinds.first { $0.code == code }?.kind ?? .unknown
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
