import Foundation
import TestSupport
@testable import Engine


enum TestPaths {
    /// The package root, found from this file's path.
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The repository's `testdata/` (real scraped samples; its README says how they were cut).
    static let testData = packageRoot.appendingPathComponent("testdata")

    static func temporaryDirectory(_ name: String) throws -> URL {
        Scratch.directory(name)
    }
}

struct CommandError: Error, CustomStringConvertible {
    let description: String
}

/// Runs a program and returns its standard output; throws with stderr on a
/// non-zero exit.
@discardableResult
func run(_ executable: String, _ arguments: [String]) throws -> Data {
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
func gzipLines(_ url: URL, limit: Int) throws -> [Substring] {
    let data = try run("/bin/gzip", ["-dc", url.path])
    return String(decoding: data, as: UTF8.self).split(separator: "\n").prefix(limit).map { $0 }
}
