import Engine
import Foundation
import TestSupport
import Testing

/// Runs the built `muninn` binary, which sits next to the test bundle.
/// `input`, when given, is its standard input; `directory` its working directory.
func muninn(_ arguments: [String], input: String? = nil, directory: URL? = nil) throws -> SubprocessResult {
    try Subprocess.run(muninnBinary().path, arguments, directory: directory, input: input.map { Data($0.utf8) })
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
