import Foundation
import Testing
import Engine

/// Runs the built `muninn` binary, which sits next to the test bundle.
/// `input`, when given, is its standard input.
func muninn(_ arguments: [String], input: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = muninnBinary()
    process.arguments = arguments
    let out = Pipe(), err = Pipe(), stdin = Pipe()
    process.standardOutput = out
    process.standardError = err
    if input != nil { process.standardInput = stdin }
    try process.run()
    if let input {
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
    }
    let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, stdout, stderr)
}

@Suite struct CLITests {
    @Test func versionPrintsTheReleaseVersion() throws {
        let r = try muninn(["--version"])
        #expect(r.status == 0)
        #expect(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == Muninn.version)
    }

    @Test func unknownSubcommandFailsWithUsage() throws {
        let r = try muninn(["no-such-command"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("Usage") || r.stderr.contains("Error"))
    }
}
