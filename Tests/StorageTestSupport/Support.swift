import Foundation
import TestSupport

package enum TestPaths {
    /// The package root, found from this file's path.
    package static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `../shared/data` beside the checkout (CI clones with shared/ next to it).
    package static let sharedData = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/data")

    package static func temporaryDirectory(_ name: String) throws -> URL {
        Scratch.directory(name)
    }
}

package struct CommandError: Error, CustomStringConvertible {
    package let description: String

    package init(description: String) { self.description = description }
}

/// Runs a program and returns its standard output; throws with stderr on a
/// non-zero exit.
@discardableResult
package func run(_ executable: String, _ arguments: [String]) throws -> Data {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let output = out.fileHandleForReading.readDataToEndOfFile()
    let errors = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw CommandError(description: "\(executable) \(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(String(decoding: errors, as: UTF8.self))")
    }
    return output
}

/// Lines of a gzip file, decompressed by the system's gzip.
package func gzipLines(_ url: URL, limit: Int) throws -> [Substring] {
    let data = try run("/bin/gzip", ["-dc", url.path])
    return String(decoding: data, as: UTF8.self).split(separator: "\n").prefix(limit).map { $0 }
}
