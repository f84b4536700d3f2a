import Engine
import Formats
import Foundation

/// What a path given to the offline block tools turned out to be, and the
/// blocks (and tenant databases, whose `wal/` and `wbl/` hold the head) in it.
///
/// Accepted layouts (`docs/format/object-store.md`):
/// - a block directory (holds `meta.json`, `index` or `chunks/`);
/// - a tenant database `<data>/tsdb/<tenant>` (ULID-named block directories
///   and/or `wal/`);
/// - a data directory `<data>` (every tenant database under `tsdb/`);
/// - a directory of tenants: a bucket `<bucket>/<tenant>/<ULID>/…` or
///   `<data>/tsdb` itself.
///
/// Only names that parse as ULIDs are blocks (`.tmp-for-creation` and other
/// leftovers are ignored, as Prometheus ignores them). Discovery only lists
/// directories; it opens no file for writing.
package struct BlockDiscovery: Sendable {
    package enum Kind: String, Sendable {
        case block, tenantDatabase = "tenant database", dataDirectory = "data directory", tenants = "directory of tenants"
    }

    /// A block directory and the tenant it belongs to: the name of the
    /// directory it sits in.
    package struct Block: Sendable, Equatable {
        package let tenant: String
        package let ulid: ULID
        package let directory: String
    }

    /// A tenant database directory (blocks plus, when present, `wal/` and `wbl/`).
    package struct Database: Sendable, Equatable {
        package let tenant: String
        package let directory: String
        /// Blocks of this database, oldest ULID first.
        package let blocks: [Block]
        /// `directory/wal` and `directory/wbl` when they exist.
        package let wal: String?
        package let wbl: String?
    }

    package let path: String
    package let kind: Kind
    /// Tenant databases in tenant-name order; a lone block gives one database
    /// with that block and no WAL.
    package let databases: [Database]

    /// Every block found, tenant by tenant, oldest ULID first.
    package var blocks: [Block] { databases.flatMap(\.blocks) }

    /// Classifies `path`. Throws a `FormatError` (offset 0) naming the path when
    /// it is missing, not a directory, or none of the layouts above.
    package init(path: String) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDir) else {
            throw FormatError(file: path, offset: 0, reason: "no such file or directory")
        }
        guard isDir.boolValue else {
            throw FormatError(file: path, offset: 0, reason: "not a directory (want a block, tenant database, data directory or bucket)")
        }
        let trimmed = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        self.path = trimmed
        let url = URL(fileURLWithPath: trimmed).standardizedFileURL
        if Self.isBlock(trimmed) {
            let name = url.lastPathComponent
            guard let ulid = ULID(name) else {
                throw FormatError(file: trimmed, offset: 0, reason: "block directory name \(name) is not a ULID")
            }
            let tenant = url.deletingLastPathComponent().lastPathComponent
            kind = .block
            databases = [
                Database(
                    tenant: tenant, directory: url.deletingLastPathComponent().path,
                    blocks: [Block(tenant: tenant, ulid: ulid, directory: trimmed)], wal: nil, wbl: nil)
            ]
        } else if Self.isDirectory(trimmed + "/tsdb") {
            kind = .dataDirectory
            databases = try Self.tenants(in: trimmed + "/tsdb")
        } else if let db = try Self.database(trimmed, tenant: url.lastPathComponent) {
            kind = .tenantDatabase
            databases = [db]
        } else {
            let found = try Self.tenants(in: trimmed)
            guard !found.isEmpty else {
                throw FormatError(
                    file: trimmed, offset: 0,
                    reason: "not a block, tenant database, data directory or bucket (no ULID-named block directories, wal/ or tsdb/ found)")
            }
            kind = .tenants
            databases = found
        }
    }

    static func isDirectory(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
    }

    private static func isBlock(_ path: String) -> Bool {
        Files.exists(path + "/" + BlockMeta.fileName) || Files.exists(path + "/index") || isDirectory(path + "/chunks")
    }

    /// The database at `path` when it holds blocks or a WAL, else nil.
    private static func database(_ path: String, tenant: String) throws -> Database? {
        let blocks = try Files.list(path).compactMap { name -> Block? in
            guard let ulid = ULID(name), isDirectory(path + "/" + name) else { return nil }
            return Block(tenant: tenant, ulid: ulid, directory: path + "/" + name)
        }.sorted { $0.ulid < $1.ulid }
        let wal = isDirectory(path + "/wal") ? path + "/wal" : nil
        let wbl = isDirectory(path + "/wbl") ? path + "/wbl" : nil
        guard !blocks.isEmpty || wal != nil else { return nil }
        return Database(tenant: tenant, directory: path, blocks: blocks, wal: wal, wbl: wbl)
    }

    /// Subdirectories of `path` that are databases, by tenant name.
    private static func tenants(in path: String) throws -> [Database] {
        try Files.list(path).sorted(by: ByteString.precedes).compactMap { name in
            let dir = path + "/" + name
            return isDirectory(dir) ? try database(dir, tenant: name) : nil
        }
    }
}
