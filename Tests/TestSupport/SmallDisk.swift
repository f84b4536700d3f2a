import Foundation

/// A real small filesystem (tmpfs) for disk-full tests: writes past its size
/// fail with ENOSPC, and deleting the filler gives the space back. Mounting
/// needs root; `SmallDisk.available` says whether tests can use one.
public final class SmallDisk {
    public let path: String
    private let filler: String

    public static var available: Bool { getuid() == 0 }

    /// Mounts a tmpfs of `bytes` at a fresh scratch directory (or at `path`,
    /// which must exist).
    public init(bytes: Int, at path: String? = nil) throws {
        let mountPoint = path ?? Scratch.directory("disk").path
        self.path = mountPoint
        filler = mountPoint + "/.filler"
        try Subprocess.output("/bin/mount", ["-t", "tmpfs", "-o", "size=\(bytes)", "tmpfs", mountPoint])
    }

    deinit { unmount() }

    /// Unmounts (lazily, so a file still open elsewhere does not keep it busy).
    public func unmount() {
        _ = try? Subprocess.output("/bin/umount", ["-l", path])
    }

    /// Writes a filler file until the filesystem is full; returns its size.
    @discardableResult
    public func fill() -> Int {
        let fd = open(filler, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        let block = [UInt8](repeating: 0x5a, count: 4096)
        var total = 0
        while true {
            let n = block.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            total += n
        }
        return total
    }

    /// Deletes the filler, giving its space back.
    public func free() throws {
        try FileManager.default.removeItem(atPath: filler)
    }
}
