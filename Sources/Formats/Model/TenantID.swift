import Foundation

/// Tenant IDs name directories, so only a safe alphabet is allowed (Mimir's:
/// letters, digits and `!-_.*'()`), at most 150 bytes, never `.` or `..`, and
/// never a name of the temporary files (`.tmp-`, or a `.tmp` ending).
public enum TenantID {
    public static let maxLength = 150

    public struct Invalid: Error, Sendable, Equatable, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    public static func validate(_ id: String) throws(Invalid) {
        if id.isEmpty { throw Invalid(reason: "tenant ID is empty") }
        if id.utf8.count > maxLength {
            throw Invalid(reason: "tenant ID is \(id.utf8.count) bytes, longer than \(maxLength)")
        }
        if id == "." || id == ".." { throw Invalid(reason: "tenant ID \"\(id)\" is not allowed") }
        // The names of unfinished writes and deletions: start-up cleanup removes
        // such directories, and the shipper skips such files.
        if id.contains(".tmp-") || id.hasSuffix(".tmp") {
            throw Invalid(reason: "tenant ID \"\(id)\" contains \".tmp-\" or ends in \".tmp\", reserved for temporary files")
        }
        for u in id.unicodeScalars {
            let ok =
                (u >= "a" && u <= "z") || (u >= "A" && u <= "Z") || (u >= "0" && u <= "9")
                || "!-_.*'()".unicodeScalars.contains(u)
            if !ok {
                let shown = u.value < 0x20 || u.value == 0x7F ? String(format: "0x%02X", u.value) : "'\(u)'"
                throw Invalid(reason: "tenant ID contains the unsupported character \(shown)")
            }
        }
    }
}
