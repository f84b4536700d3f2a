import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A failure the CLI reports as one line on stderr and exit status 1.
struct CLIFailure: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// Writes to a file descriptor with `write(2)`. `FileHandle.write` traps on
/// EPIPE or ENOSPC (it is a `try!` inside Foundation); a node whose log pipe
/// broke or whose log disk filled must keep serving, so errors here are dropped
/// and reported through the return value only.
enum StandardStream {
    /// Writes all of `bytes` to `fd`; false when the descriptor refused them.
    @discardableResult
    static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            if n == 0 { return false }
            offset += n
        }
        return true
    }

    @discardableResult
    static func write(_ fd: Int32, _ text: String) -> Bool {
        var text = text
        return text.withUTF8 { write(fd, UnsafeRawBufferPointer($0)) }
    }

    static func error(_ text: String) { write(STDERR_FILENO, text) }

    /// A closed pipe must be an EPIPE error, not a signal that ends the process.
    static func ignoreBrokenPipes() { signal(SIGPIPE, SIG_IGN) }
}

/// Buffered stdout for commands that print many lines.
struct FileHandleOutputStream: TextOutputStream {
    static var standardOutput: FileHandleOutputStream { FileHandleOutputStream() }
    private var buffer: [UInt8] = []

    mutating func write(_ string: String) {
        buffer.append(contentsOf: string.utf8)
        if buffer.count >= 1 << 16 { flush() }
    }

    mutating func flush() {
        guard !buffer.isEmpty else { return }
        buffer.withUnsafeBytes { _ = StandardStream.write(STDOUT_FILENO, $0) }
        buffer.removeAll(keepingCapacity: true)
    }
}
