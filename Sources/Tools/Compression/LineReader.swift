import CZlib
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Reads a text file line by line, gunzipping it when it is gzip (zlib's gz
/// layer reads plain files as they are). Lines are handed out as byte buffers
/// valid only during the callback, without the `\n` (and a `\r` before it).
final class LineReader {
    let path: String
    /// Size of the file on disk (compressed size for .gz).
    let fileSize: Int
    private let file: gzFile

    /// Opens `path`; a missing, unreadable or non-regular file is an `InputError`.
    init(path: String) throws(InputError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw InputError(file: path, reason: String(cString: strerror(errno))) }
        var st = stat()
        if fstat(fd, &st) < 0 || (st.st_mode & S_IFMT) != S_IFREG {
            close(fd)
            throw InputError(file: path, reason: "not a regular file")
        }
        guard let gz = gzdopen(fd, "rb") else {
            close(fd)
            throw InputError(file: path, reason: "cannot open for reading")
        }
        gzbuffer(gz, 1 << 17)
        file = gz
        fileSize = Int(st.st_size)
    }

    deinit { gzclose(file) }

    /// Bytes of the file consumed so far (of the compressed file for .gz).
    var offset: Int { Int(gzoffset(file)) }

    /// Calls `body(line, lineNumber)` for every line (numbered from 1) until it
    /// returns false or the file ends. A final line without `\n` counts.
    func forEachLine(_ body: (UnsafeBufferPointer<UInt8>, Int) throws(InputError) -> Bool) throws(InputError) {
        var capacity = 1 << 20
        var buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        defer { buffer.deallocate() }
        var filled = 0
        var lineNumber = 0
        var atEnd = false
        while !atEnd {
            if filled == capacity {
                let larger = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * 2)
                larger.update(from: buffer, count: filled)
                buffer.deallocate()
                buffer = larger
                capacity *= 2
            }
            let n = gzread(file, buffer + filled, UInt32(capacity - filled))
            if n < 0 || (n == 0 && gzError() != nil) {
                throw InputError(file: path, reason: "offset \(offset): \(gzError() ?? "read error")")
            }
            atEnd = n == 0
            filled += Int(n)
            var consumed = 0
            while consumed < filled {
                let start = buffer + consumed
                let newline = memchr(start, 0x0A, filled - consumed)?.assumingMemoryBound(to: UInt8.self)
                if newline == nil && !atEnd { break }
                var length = newline.map { $0 - start } ?? (filled - consumed)
                consumed += newline == nil ? length : length + 1
                if length > 0 && start[length - 1] == 0x0D { length -= 1 }
                lineNumber += 1
                if try !body(UnsafeBufferPointer(start: start, count: length), lineNumber) { return }
            }
            if consumed > 0 && consumed < filled { memmove(buffer, buffer + consumed, filled - consumed) }
            filled -= consumed
        }
    }

    /// zlib's message when the stream is broken (truncated or corrupt gzip).
    private func gzError() -> String? {
        var code: Int32 = 0
        let message = gzerror(file, &code)
        guard code != Z_OK && code != Z_STREAM_END else { return nil }
        let text = message.map { String(cString: $0) } ?? "zlib error \(code)"
        return "gzip: " + (text.isEmpty ? "zlib error \(code)" : text)
    }
}
