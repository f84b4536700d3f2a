import ArgumentParser
import Engine
import Foundation

/// The `muninn` command line: the node and the offline tools.
@main
struct MuninnCommand: ParsableCommand {
    /// Prints failures as `muninn: <message>` and exits 1 (usage errors keep
    /// ArgumentParser's own output and exit code).
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let failure as CLIFailure {
            FileHandle.standardError.write(Data("muninn: \(failure)\n".utf8))
            Foundation.exit(1)
        } catch {
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "muninn",
        abstract: "Muninn: a metrics ingester for Prometheus remote-write.",
        version: Muninn.version,
        subcommands: [WALCommand.self, BenchCommand.self, DBCrashWriter.self]
    )
}
