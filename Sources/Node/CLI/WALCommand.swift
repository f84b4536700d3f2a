import ArgumentParser
import Engine
import Formats
import Foundation
import Tools

/// `muninn wal`: read-only inspection of a write-ahead log directory.
struct WALCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wal",
        abstract: "Inspect a write-ahead log offline (never modifies it).",
        subcommands: [Dump.self, Verify.self, WALCrashWriter.self]
    )

    /// Accepts the WAL directory itself or a database directory holding `wal/`.
    static func resolve(_ path: String) throws -> String {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
            throw ValidationError("\(path): no such directory")
        }
        let nested = path + "/wal"
        if FileManager.default.fileExists(atPath: nested, isDirectory: &isDir), isDir.boolValue { return nested }
        return path
    }

    struct Dump: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print every record, one entry per line: SEGMENT@OFFSET KIND fields.")

        @Argument(help: "WAL directory (or a database directory containing wal/).")
        var path: String

        func run() throws {
            let dir = try WALCommand.resolve(path)
            var out = FileHandleOutputStream.standardOutput
            do {
                try WALScan.walk(dir) { location, record in
                    switch record {
                    case .series(let entries):
                        for e in entries { print("\(location) series ref=\(e.ref) \(e.labels)", to: &out) }
                    case .samples(let samples):
                        for s in samples {
                            print("\(location) sample ref=\(s.ref) t=\(s.timestamp) v=\(WALInspector.format(s.value))", to: &out)
                        }
                    case .tombstones(let stones):
                        for t in stones { print("\(location) tombstone ref=\(t.ref) mint=\(t.minTime) maxt=\(t.maxTime)", to: &out) }
                    case .other(let type, let bytes):
                        print("\(location) record type=\(type) bytes=\(bytes.count)", to: &out)
                    }
                }
            } catch let corruption as WALCorruption {
                out.flush()
                throw CLIFailure("corrupt WAL: \(corruption)")
            }
            out.flush()
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every CRC and decode every record; exit 1 at the first bad one.")

        @Argument(help: "WAL directory (or a database directory containing wal/).")
        var path: String

        func run() throws {
            let dir = try WALCommand.resolve(path)
            var records = 0, samples = 0, series = 0
            do {
                try WALScan.walk(dir) { _, record in
                    records += 1
                    if case .samples(let s) = record { samples += s.count }
                    if case .series(let s) = record { series += s.count }
                }
            } catch let corruption as WALCorruption {
                throw CLIFailure("corrupt WAL: \(corruption)")
            }
            print("ok: \(dir): \(records) records, \(series) series, \(samples) samples")
        }
    }
}

/// Text helpers for `muninn wal dump`.
enum WALInspector {
    static func format(_ v: Double) -> String {
        if v.bitPattern == Sample.staleNaNBits { return "StaleNaN" }
        return DumpFormat.formatGoFloat(v)
    }
}
