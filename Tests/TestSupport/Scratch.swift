import Foundation

/// Scratch directories for tests, all under one root per test process
/// (`$TMPDIR/muninn-tests-<pid>`), which is removed when the process exits, so
/// repeated runs do not fill the temporary directory. Set
/// `MUNINN_KEEP_TEST_DIRS=1` to keep it for a post-mortem. A crashed run
/// leaves its root behind, for the same reason.
public enum Scratch {
    /// A new empty directory whose name starts with `muninn-<name>-`.
    public static func directory(_ name: String) -> URL {
        let url = path(name)
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A fresh path under the root, not created (for code that creates it).
    public static func path(_ name: String) -> URL {
        root.appendingPathComponent("muninn-\(name)-\(UUID().uuidString)")
    }

    public static let root: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("muninn-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        if ProcessInfo.processInfo.environment["MUNINN_KEEP_TEST_DIRS"] == nil {
            atexit { try? FileManager.default.removeItem(at: Scratch.root) }
        }
        return url
    }()
}
