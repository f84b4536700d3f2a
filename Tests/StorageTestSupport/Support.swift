import Foundation
import TestSupport

package enum TestPaths {
    /// The package root, found from this file's path.
    package static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The repository's `testdata/` (real scraped samples; its README says how they were cut).
    package static let testData = packageRoot.appendingPathComponent("testdata")

    package static func temporaryDirectory(_ name: String) throws -> URL {
        Scratch.directory(name)
    }
}

package struct CommandError: Error, CustomStringConvertible {
    package let description: String

    package init(description: String) { self.description = description }
}

/// Runs a program that must succeed and returns its standard output; throws
/// with stderr on a non-zero exit.
@discardableResult
package func run(_ executable: String, _ arguments: [String]) throws -> Data {
    try Subprocess.output(executable, arguments)
}

/// Lines of a gzip file, decompressed by the system's gzip.
package func gzipLines(_ url: URL, limit: Int) throws -> [Substring] {
    let data = try run("/bin/gzip", ["-dc", url.path])
    return String(decoding: data, as: UTF8.self).split(separator: "\n").prefix(limit).map { $0 }
}
