#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An object store in a local directory: key `a/b/c` is the file `<root>/a/b/c`.
/// The embedded default bucket, and what `promtool tsdb list <root>/<tenant>`
/// can read directly.
///
/// Crash safety: a put writes `<root>/<key>.tmp-<random>`, fsyncs it, renames it
/// onto the key and fsyncs the directory, so a reader never sees a partial
/// object and a completed put survives a crash. Directories are created as
/// needed (each new one made durable in its parent) and removed again when a
/// delete empties them. A crash can leave a `*.tmp-*` file behind: it is never
/// listed or returned, which is why key segments may not contain `.tmp-`.
///
/// One key cannot be both an object and a prefix of others (`a` and `a/b`):
/// the second put fails with `.io`. Stateless apart from `root`, so safe to
/// share between threads.
public struct FilesystemBucket: ObjectStore {
    public let root: String
    static let temporaryMarker = ".tmp-"
    private static let copyBufferSize = 1 << 20

    /// Opens (creating if needed) the bucket directory `root`.
    public init(root: String) throws {
        var root = root
        while root.count > 1, root.hasSuffix("/") { root.removeLast() }
        self.root = root
        try Files.makeDirectory(root)
    }

    // MARK: ObjectStore

    public func put(_ key: String, from localPath: String) throws(ObjectStoreError) {
        let source = open(localPath, O_RDONLY | O_CLOEXEC)
        guard source >= 0 else { throw ioError(key, "open", localPath) }
        defer { close(source) }
        try writeObject(key) { fd, tmp throws(ObjectStoreError) in
            var buffer = [UInt8](repeating: 0, count: Self.copyBufferSize)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw ioError(key, "read", localPath)
                }
                if n == 0 { return }
                try io(key) {
                    try buffer.withUnsafeBytes { try Files.writeAll(fd, UnsafeRawBufferPointer(rebasing: $0[0..<n]), path: tmp) }
                }
            }
        }
    }

    public func put(_ key: String, data: [UInt8]) throws(ObjectStoreError) {
        try writeObject(key) { fd, tmp throws(ObjectStoreError) in
            try io(key) { try data.withUnsafeBytes { try Files.writeAll(fd, $0, path: tmp) } }
        }
    }

    public func get(_ key: String) throws(ObjectStoreError) -> [UInt8] {
        let path = try self.path(key)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT || errno == ENOTDIR { throw ObjectStoreError.notFound(key) }
            throw ioError(key, "open", path)
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ioError(key, "fstat", path) }
        guard st.st_mode & S_IFMT == S_IFREG else { throw ObjectStoreError.notFound(key) }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, $0.count - done, off_t(done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ioError(key, "read", path)
            }
            if n == 0 { break }
            done += n
        }
        if done < bytes.count { bytes.removeLast(bytes.count - done) }
        return bytes
    }

    public func exists(_ key: String) throws(ObjectStoreError) -> Bool {
        let path = try self.path(key)
        guard let isFile = try entryKind(path, key: key) else { return false }
        return isFile
    }

    public func list(prefix: String, recursive: Bool) throws(ObjectStoreError) -> [String] {
        try ObjectKey.validatePrefix(prefix)
        let directoryPart: Substring, namePrefix: Substring
        if let slash = prefix.lastIndex(of: "/") {
            directoryPart = prefix[...slash]
            namePrefix = prefix[prefix.index(after: slash)...]
        } else {
            directoryPart = ""
            namePrefix = Substring(prefix)
        }
        var keys: [String] = []
        try collect(keyPrefix: String(directoryPart), namePrefix: namePrefix, recursive: recursive, into: &keys)
        return keys.sorted(by: ObjectKey.precedes)
    }

    public func delete(_ key: String) throws(ObjectStoreError) {
        let path = try self.path(key)
        guard unlink(path) == 0 else {
            // No object there (missing, or only a prefix of other keys): nothing to do.
            if errno == ENOENT || errno == ENOTDIR || errno == EISDIR { return }
            throw ioError(key, "unlink", path)
        }
        var directory = Files.parent(of: path)
        try syncDirectory(directory, key: key)
        while directory != root {
            guard rmdir(directory) == 0 else {
                // Not empty (or a concurrent put is filling it): keep it and everything above.
                if errno == ENOTEMPTY || errno == EEXIST || errno == ENOENT || errno == EBUSY { return }
                throw ioError(key, "rmdir", directory)
            }
            directory = Files.parent(of: directory)
            try syncDirectory(directory, key: key)
        }
    }

    // MARK: Writing

    /// Creates a uniquely named temporary file beside the key and lets `body`
    /// fill it inside `Files.commitAtomically`, which fsyncs, renames it onto
    /// the key and fsyncs the directory, removing it on any failure.
    private func writeObject(
        _ key: String,
        _ body: (_ fd: Int32, _ path: String) throws(ObjectStoreError) -> Void
    ) throws(ObjectStoreError) {
        let path = try self.path(key)
        let directory = Files.parent(of: path)
        let tmp = path + Self.temporaryMarker + String(UInt64.random(in: .min ... .max), radix: 16)
        var fd: Int32 = -1
        // A concurrent delete may remove the (momentarily empty) directory between
        // creating it and opening the file in it; create it again then.
        for _ in 0..<3 {
            try makeDirectories(directory, key: key)
            fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if fd >= 0 || errno != ENOENT { break }
        }
        guard fd >= 0 else { throw ioError(key, "open", tmp) }
        try io(key) { try Files.commitAtomically(fd, temporary: tmp, to: path) { fd in try body(fd, tmp) } }
    }

    /// `mkdir -p` below the root; each directory created is made durable in its parent.
    private func makeDirectories(_ directory: String, key: String) throws(ObjectStoreError) {
        guard directory != root else { return }
        var st = stat()
        if stat(directory, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFDIR else {
                throw ObjectStoreError(key: key, kind: .io, reason: "\(directory) is an object, not a prefix")
            }
            return
        }
        try makeDirectories(Files.parent(of: directory), key: key)
        guard mkdir(directory, 0o755) == 0 || errno == EEXIST else { throw ioError(key, "mkdir", directory) }
        try syncDirectory(Files.parent(of: directory), key: key)
    }

    private func syncDirectory(_ directory: String, key: String) throws(ObjectStoreError) {
        try io(key) { try Files.syncDirectory(directory) }
    }

    // MARK: Listing

    /// Adds the keys below `<root>/<keyPrefix>` whose next segment starts with
    /// `namePrefix`. `keyPrefix` is empty or ends in `/`.
    private func collect(
        keyPrefix: String, namePrefix: Substring, recursive: Bool,
        into keys: inout [String]
    ) throws(ObjectStoreError) {
        let directory = keyPrefix.isEmpty ? root : root + "/" + keyPrefix.dropLast()
        for name in try entries(directory, key: keyPrefix) where name.utf8.starts(with: namePrefix.utf8) {
            let key = keyPrefix + name
            guard let isFile = try entryKind(directory + "/" + name, key: key) else { continue }
            if isFile {
                keys.append(key)
            } else if recursive {
                try collect(keyPrefix: key + "/", namePrefix: "", recursive: true, into: &keys)
            } else if try containsObject(directory + "/" + name, key: key) {
                keys.append(key + "/")
            }
        }
    }

    /// Whether a directory holds at least one object at any depth; a directory
    /// with nothing but leftover temporary files is no prefix of any key.
    private func containsObject(_ directory: String, key: String) throws(ObjectStoreError) -> Bool {
        for name in try entries(directory, key: key) {
            switch try entryKind(directory + "/" + name, key: key + "/" + name) {
            case true?: return true
            case false?: if try containsObject(directory + "/" + name, key: key + "/" + name) { return true }
            case nil: continue
            }
        }
        return false
    }

    /// Directory entries, minus temporary files; `[]` when the directory is missing.
    private func entries(_ directory: String, key: String) throws(ObjectStoreError) -> [String] {
        guard let dir = opendir(directory) else {
            if errno == ENOENT || errno == ENOTDIR { return [] }
            throw ioError(key, "opendir", directory)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 { throw ioError(key, "readdir", directory) }
                return names
            }
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
            }
            if name == "." || name == ".." || name.contains(Self.temporaryMarker) { continue }
            names.append(name)
        }
    }

    /// true for a regular file (an object), false for a directory (a prefix),
    /// nil when absent or anything else.
    private func entryKind(_ path: String, key: String) throws(ObjectStoreError) -> Bool? {
        var st = stat()
        guard stat(path, &st) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw ioError(key, "stat", path)
        }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return true
        case S_IFDIR: return false
        default: return nil
        }
    }

    // MARK: Paths and errors

    /// The file of a valid key.
    private func path(_ key: String) throws(ObjectStoreError) -> String {
        try ObjectKey.validate(key)
        for segment in key.split(separator: "/") where segment.contains(Self.temporaryMarker) {
            throw ObjectKey.invalid(
                key,
                "segment \"\(segment)\" contains \"\(Self.temporaryMarker)\", "
                    + "which marks temporary files")
        }
        return root + "/" + key
    }

    /// Runs `Files` calls for `key`, reporting their `SystemError` as an `.io` error.
    private func io<T>(_ key: String, _ body: () throws -> T) throws(ObjectStoreError) -> T {
        do {
            return try body()
        } catch let error as ObjectStoreError {
            throw error
        } catch {
            throw ObjectStoreError(key: key, kind: .io, reason: "\(error)")
        }
    }

    /// An `.io` error from the current `errno`.
    private func ioError(_ key: String, _ operation: String, _ path: String) -> ObjectStoreError {
        ObjectStoreError(key: key, kind: .io, reason: "\(operation) \(path): \(String(cString: strerror(errno)))")
    }
}
