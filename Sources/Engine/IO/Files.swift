import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A failed system call, naming the call and the path.
public struct SystemError: Error, CustomStringConvertible, Sendable {
    public let operation: String
    public let path: String
    public let code: Int32

    package init(operation: String, path: String, code: Int32) {
        self.operation = operation
        self.path = path
        self.code = code
    }

    public var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }
}

/// Thin wrappers over the POSIX calls the storage layer needs; each turns a
/// failure into a `SystemError` right here.
package enum Files {
    static func check(_ rc: Int32, _ operation: String, _ path: String) throws {
        if rc < 0 { throw SystemError(operation: operation, path: path, code: errno) }
    }

    /// Creates (or truncates) a file for writing.
    static func create(_ path: String) throws -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        try check(fd, "open", path)
        return fd
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var done = 0
        while done < bytes.count {
            let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError(operation: "write", path: path, code: errno)
            }
            done += n
        }
    }

    static func sync(_ fd: Int32, path: String) throws {
        #if os(Linux)
            try check(fdatasync(fd), "fdatasync", path)
        #else
            try check(fsync(fd), "fsync", path)
        #endif
    }

    /// Makes a directory's entries (created, renamed, removed files) durable.
    static func syncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        try check(fd, "open", path)
        defer { close(fd) }
        try check(fsync(fd), "fsync", path)
    }

    /// Opens `path` read-only; returns the descriptor (the caller closes it)
    /// and the file's size.
    package static func openForReading(_ path: String) throws -> (fd: Int32, size: Int) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        try check(fd, "open", path)
        var st = stat()
        if fstat(fd, &st) < 0 {
            let code = errno
            close(fd)
            throw SystemError(operation: "fstat", path: path, code: code)
        }
        return (fd, Int(st.st_size))
    }

    static func read(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        try check(fd, "open", path)
        defer { close(fd) }
        var st = stat()
        try check(fstat(fd, &st), "fstat", path)
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        var done = 0
        try bytes.withUnsafeMutableBytes { b in
            while done < b.count {
                let n = pread(fd, b.baseAddress! + done, b.count - done, off_t(done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw SystemError(operation: "read", path: path, code: errno)
                }
                if n == 0 { break }
                done += n
            }
        }
        if done < bytes.count { bytes.removeLast(bytes.count - done) }
        return bytes
    }

    /// Cuts an open file back to `size` and moves its write position there.
    static func truncate(_ fd: Int32, to size: Int, path: String) throws {
        try check(ftruncate(fd, off_t(size)), "ftruncate", path)
        if lseek(fd, off_t(size), SEEK_SET) < 0 { throw SystemError(operation: "lseek", path: path, code: errno) }
    }

    static func truncate(_ path: String, to size: Int) throws {
        try check(Glibc.truncate(path, off_t(size)), "truncate", path)
    }

    package static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    package static func list(_ path: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path)
    }

    static func makeDirectory(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    static func remove(_ path: String) throws {
        if exists(path) { try FileManager.default.removeItem(atPath: path) }
    }

    static func rename(_ from: String, _ to: String) throws {
        try check(Glibc.rename(from, to), "rename", from)
    }

    /// The directory holding `path` ("." for a bare name).
    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// Renames a complete file or directory into place and makes the new name
    /// durable: the last step of every crash-safe write here (a crash leaves
    /// either the old entry or the new one, never a partial one).
    static func renameDurably(_ from: String, to: String) throws {
        try rename(from, to)
        try syncDirectory(parent(of: to))
    }

    /// Replaces `path` crash-safely with `bytes` through `<path>.tmp`.
    /// - Throws: `SystemError`; `path` is then unchanged and the temporary file gone.
    static func writeAtomically(_ path: String, _ bytes: [UInt8]) throws {
        let temporary = path + ".tmp"
        try commitAtomically(try create(temporary), temporary: temporary, to: path) { fd in
            try bytes.withUnsafeBytes { try writeAll(fd, $0, path: temporary) }
        }
    }

    /// The atomic-file recipe, for a temporary file the caller opened (callers
    /// with their own naming or creation rules): `fill` writes it, then it is
    /// fsynced, closed, renamed onto `path` and the directory fsynced. `fd` is
    /// closed in every case; on failure the temporary file is removed and `path`
    /// is untouched.
    /// - Throws: `SystemError`, or whatever `fill` throws.
    static func commitAtomically(
        _ fd: Int32, temporary: String, to path: String,
        fill: (Int32) throws -> Void
    ) throws {
        var open = true
        do {
            try fill(fd)
            try sync(fd, path: temporary)
            open = false
            try check(close(fd), "close", temporary)
            try rename(temporary, path)
        } catch {
            if open { close(fd) }
            unlink(temporary)
            throw error
        }
        try syncDirectory(parent(of: path))
    }
}
