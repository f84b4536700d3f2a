import ArgumentParser
import Crypto
import Foundation
import HummingbirdBcrypt

/// `muninn auth`: makes the entries of `auth.tenantsFile`.
struct AuthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "auth", abstract: "Make credentials for auth.tenantsFile.",
        subcommands: [HashPassword.self, NewToken.self])

    struct HashPassword: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "hash-password",
            abstract: "Read a password from stdin (one line) and print its bcrypt hash for passwordHash.")

        @Option(help: "bcrypt cost (4-31); each step doubles the work of a check.") var cost: Int = 10

        func run() throws {
            guard (4...31).contains(cost) else { throw CLIFailure("--cost must be 4-31") }
            guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                throw CLIFailure("no password on stdin")
            }
            print(Bcrypt.hash(line, cost: UInt8(cost)))
        }
    }

    struct NewToken: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "new-token",
            abstract: "Print a new random bearer token and, for tokenSHA256, its SHA-256.")

        func run() throws {
            var generator = SystemRandomNumberGenerator()
            let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let token = bytes.map { String(format: "%02x", $0) }.joined()
            let digest = SHA256.hash(data: Array(token.utf8)).map { String(format: "%02x", $0) }.joined()
            print("token: \(token)")
            print("tokenSHA256: \(digest)")
        }
    }
}
