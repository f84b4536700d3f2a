import ArgumentParser
import Engine
import Foundation

/// The `muninn` command line: the node and the offline tools.
@main
struct MuninnCommand: AsyncParsableCommand {
    /// Prints failures as `muninn: <message>` and exits 1 (usage errors keep
    /// ArgumentParser's own output and exit code).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let failure as CLIFailure {
            StandardStream.error("muninn: \(failure)\n")
            Foundation.exit(1)
        } catch {
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "muninn",
        abstract: "Muninn: a metrics ingester for Prometheus remote-write.",
        version: Muninn.version,
        subcommands: [NodeCommand.self, WALCommand.self, BlocksCommand.self, BenchCommand.self, AuthCommand.self, DBCrashWriter.self]
    )
}
