import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A tokens file that could not be read or written.
package struct TokensFileError: Error, CustomStringConvertible {
    package let path: String
    package let reason: String

    package var description: String { "tokens file \(path): \(reason)" }
}

/// The file an instance keeps its tokens in, so that a restart comes back
/// with the same ring positions (and so the same series). dskit's format,
/// `{"tokens":[1,2,3]}`, so a file written by Mimir can be reused.
/// Both calls block on the disk: call them from a thread of their own, not
/// from Swift's cooperative pool.
package enum TokensFile {
    /// More than any instance uses (128 by default, 512 for dskit's
    /// spread-minimizing tokens); bounds what a bad file can make us allocate.
    package static let maxTokens = 4096
    /// Room for `maxTokens` ten-digit tokens with generous whitespace.
    static let maxBytes = 256 * 1024

    /// Numbers are decoded as doubles (exact for every UInt32) and checked
    /// here: Foundation reports a negative or fractional UInt32 only as
    /// "not valid JSON", which would not tell an operator what to fix.
    private struct Content: Decodable {
        var tokens: [Double]
    }

    /// The tokens in the file, sorted; nil when there is no file (a first
    /// start). Anything else that is wrong with it is an error: a node must
    /// not silently take new tokens and so move its series.
    package static func load(path: String) throws(TokensFileError) -> [UInt32]? {
        func fail(_ reason: String) -> TokensFileError { TokensFileError(path: path, reason: reason) }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw fail("open: \(errorText(errno))")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw fail("read: \(errorText(errno))")
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
            if bytes.count > maxBytes { throw fail("larger than \(maxBytes) bytes") }
        }
        let content: Content
        do {
            content = try JSONDecoder().decode(Content.self, from: Data(bytes))
        } catch {
            throw fail("not a JSON object with a \"tokens\" array of numbers (\(decodingSummary(error)))")
        }
        var tokens: [UInt32] = []
        tokens.reserveCapacity(content.tokens.count)
        for (i, value) in content.tokens.enumerated() {
            guard let token = UInt32(exactly: value) else { throw fail("tokens[\(i)] = \(value) is not an integer in 0...\(UInt32.max)") }
            tokens.append(token)
        }
        tokens.sort()
        try validate(tokens, fail)
        return tokens
    }

    /// Replaces the file with `tokens` (sorted, unique) so that a crash at any
    /// moment leaves either the old file or the new one: write a temporary
    /// file beside it, fsync, rename over, fsync the directory.
    package static func save(_ tokens: [UInt32], path: String) throws(TokensFileError) {
        func fail(_ reason: String) -> TokensFileError { TokensFileError(path: path, reason: reason) }
        guard zip(tokens, tokens.dropFirst()).allSatisfy({ $0 < $1 }) else { throw fail("tokens to save are not sorted and unique") }
        try validate(tokens, fail)
        let text = "{\"tokens\":[" + tokens.map(String.init).joined(separator: ",") + "]}"
        let directory = path.lastIndex(of: "/").map { String(path[...$0]) } ?? "."
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw fail("create \(temporary): \(errorText(errno))") }
        var written = false
        defer { if !written { unlink(temporary) } }
        do {
            defer { close(fd) }
            var bytes = Array(text.utf8)[...]
            while !bytes.isEmpty {
                let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw fail("write \(temporary): \(errorText(errno))")
                }
                bytes = bytes.dropFirst(n)
            }
            guard fsync(fd) == 0 else { throw fail("fsync \(temporary): \(errorText(errno))") }
        }
        guard rename(temporary, path) == 0 else { throw fail("rename \(temporary): \(errorText(errno))") }
        written = true
        let dirFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dirFD >= 0 else { throw fail("open directory: \(errorText(errno))") }
        defer { close(dirFD) }
        guard fsync(dirFD) == 0 else { throw fail("fsync directory: \(errorText(errno))") }
    }

    private static func validate(_ sorted: [UInt32], _ fail: (String) -> TokensFileError) throws(TokensFileError) {
        guard sorted.count <= maxTokens else { throw fail("\(sorted.count) tokens, more than \(maxTokens)") }
        for i in sorted.indices.dropFirst() where sorted[i] == sorted[i - 1] {
            throw fail("token \(sorted[i]) appears twice")
        }
    }

    private static func errorText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }

    /// The part of a decoding error that says what and where, without
    /// Foundation's debug dump.
    private static func decodingSummary(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        switch error {
        case .dataCorrupted(let context), .typeMismatch(_, let context), .valueNotFound(_, let context), .keyNotFound(_, let context):
            let at = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return at.isEmpty ? context.debugDescription : "at \(at): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}
