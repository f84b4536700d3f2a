import ArgumentParser
import Engine

/// The `muninn` command line: the node and the offline tools.
@main
struct MuninnCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "muninn",
        abstract: "Muninn: a metrics ingester for Prometheus remote-write.",
        version: Muninn.version,
        subcommands: []
    )
}
