/// A flat key → bytes store with `/`-separated keys: the bucket blocks are
/// shipped to (`docs/format/object-store.md#bucket`). `FilesystemBucket` is the embedded
/// implementation; an S3-compatible one can sit behind the same protocol.
///
/// Contract every implementation keeps:
/// - A put is atomic: readers see either the old object, no object, or the
///   complete new one, never a partial one. A put replaces an existing object.
/// - Keys follow `ObjectKey.validate`: no leading `/`, no empty, `.` or `..`
///   segment, no NUL.
/// - Every error is an `ObjectStoreError` naming the key.
/// - The calls are synchronous and may block on I/O: run them on a thread that
///   may block (the shipper has its own), not on Swift's cooperative pool.
/// - Safe to call concurrently from many threads.
public protocol ObjectStore: Sendable {
    /// Uploads the local file at `localPath` as `key`, streaming it.
    func put(_ key: String, from localPath: String) throws(ObjectStoreError)

    /// Stores `data` as `key`.
    func put(_ key: String, data: [UInt8]) throws(ObjectStoreError)

    /// The object's bytes; throws `.notFound` when there is no object at `key`.
    func get(_ key: String) throws(ObjectStoreError) -> [UInt8]

    /// Whether an object exists at exactly `key` (a mere prefix of other keys,
    /// such as `tenant/<ULID>`, does not count).
    func exists(_ key: String) throws(ObjectStoreError) -> Bool

    /// Keys starting with `prefix` (a plain string prefix, as S3's), sorted by
    /// their UTF-8 bytes.
    ///
    /// - `recursive: true`: every object key below the prefix.
    /// - `recursive: false`: one "directory" level, as S3 with delimiter `/`
    ///   and Thanos/Mimir bucket clients' `Iter` list: objects whose key has no
    ///   further `/` after the prefix, plus each deeper level once as its common
    ///   prefix ending in `/`. `list(prefix: "tenant/", recursive: false)`
    ///   therefore gives `tenant/<ULID>/` per block (and `tenant/markers/`, …),
    ///   and `list(prefix: "tenant/<ULID>/", recursive: true)` a block's files.
    ///
    /// A prefix nothing starts with gives `[]`, not an error.
    func list(prefix: String, recursive: Bool) throws(ObjectStoreError) -> [String]

    /// Removes the object at `key`. Deleting a key with no object is not an
    /// error (as S3), so a cleanup can be retried.
    func delete(_ key: String) throws(ObjectStoreError)
}

extension ObjectStore {
    /// One directory level below `prefix`; see `list(prefix:recursive:)`.
    public func list(prefix: String) throws(ObjectStoreError) -> [String] {
        try list(prefix: prefix, recursive: false)
    }
}

/// A failed object-store call: the key (or prefix) and why.
public struct ObjectStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// No object at the key.
        case notFound
        /// The key breaks the naming rules; nothing was touched.
        case invalidKey
        /// The store (disk, network) failed; `reason` has the cause.
        case io
    }

    public let key: String
    public let kind: Kind
    public let reason: String

    public init(key: String, kind: Kind, reason: String) {
        self.key = key
        self.kind = kind
        self.reason = reason
    }

    public static func notFound(_ key: String) -> ObjectStoreError {
        ObjectStoreError(key: key, kind: .notFound, reason: "no such object")
    }

    public var description: String {
        switch kind {
        case .notFound: "object \"\(key)\": \(reason)"
        case .invalidKey: "invalid object key \"\(key)\": \(reason)"
        case .io: "object \"\(key)\": \(reason)"
        }
    }
}

/// The key rules every store enforces.
public enum ObjectKey {
    /// Throws `.invalidKey` for an empty key, a leading `/`, an empty segment
    /// (`a//b`, trailing `/`), a `.` or `..` segment, or a NUL byte.
    public static func validate(_ key: String) throws(ObjectStoreError) {
        guard !key.isEmpty else { throw invalid(key, "empty key") }
        try validatePath(key, original: key)
    }

    /// Rules for a `list` prefix: empty (the whole store) or a key prefix whose
    /// complete segments (those before the last `/`) follow `validate`.
    public static func validatePrefix(_ prefix: String) throws(ObjectStoreError) {
        guard let slash = prefix.utf8.lastIndex(of: UInt8(ascii: "/")) else {
            guard !prefix.utf8.contains(0) else { throw invalid(prefix, "contains a NUL byte") }
            return
        }
        guard !prefix.utf8[prefix.utf8.index(after: slash)...].contains(0) else {
            throw invalid(prefix, "contains a NUL byte")
        }
        try validatePath(String(prefix[..<slash]), original: prefix)
    }

    private static func validatePath(_ path: String, original: String) throws(ObjectStoreError) {
        guard path.utf8.first != UInt8(ascii: "/") else { throw invalid(original, "starts with \"/\"") }
        guard !path.utf8.contains(0) else { throw invalid(original, "contains a NUL byte") }
        for segment in path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            if segment.isEmpty { throw invalid(original, "empty path segment") }
            if segment.elementsEqual(".".utf8) || segment.elementsEqual("..".utf8) {
                throw invalid(original, "\"\(String(decoding: segment, as: UTF8.self))\" segment")
            }
        }
    }

    static func invalid(_ key: String, _ reason: String) -> ObjectStoreError {
        ObjectStoreError(key: key, kind: .invalidKey, reason: reason)
    }

    /// Byte-wise order of UTF-8 keys, the order S3 lists in.
    static func precedes(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}
