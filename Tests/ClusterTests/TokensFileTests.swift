import Foundation
import TestSupport
import Testing

@testable import Cluster

@Suite struct TokensFileTests {
    @Test func roundTripInDskitsFormat() throws {
        let path = Scratch.directory("tokens").path + "/tokens.json"
        try TokensFile.save([1, 5, 4_294_967_295], path: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == #"{"tokens":[1,5,4294967295]}"#)
        #expect(try TokensFile.load(path: path) == [1, 5, 4_294_967_295])
        try TokensFile.save([], path: path)
        #expect(try TokensFile.load(path: path) == [])
    }

    @Test func aMissingFileIsNoTokens() throws {
        #expect(try TokensFile.load(path: Scratch.path("none").path) == nil)
    }

    @Test func saveReplacesTheFileAndLeavesNoTemporary() throws {
        let dir = Scratch.directory("tokens")
        let path = dir.path + "/tokens.json"
        var rng = SplitMix64(seed: 7)
        let first = try RandomTokenGenerator.generate(count: 128, taken: [], using: &rng)
        let second = try RandomTokenGenerator.generate(count: 128, taken: Set(first), using: &rng)
        try TokensFile.save(first, path: path)
        try TokensFile.save(second, path: path)
        #expect(try TokensFile.load(path: path) == second)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["tokens.json"])
    }

    /// A save that fails part-way (here: the disk is full) keeps the old file.
    @Test(.enabled(if: SmallDisk.available)) func aFailedSaveKeepsTheOldTokens() throws {
        let disk = try SmallDisk(bytes: 64 * 1024)
        defer { disk.unmount() }
        let path = disk.path + "/tokens.json"
        try TokensFile.save([1, 2, 3], path: path)
        disk.fill()
        let many = (0..<4096).map { UInt32($0) * 1_000_003 }
        #expect(throws: TokensFileError.self) { try TokensFile.save(many, path: path) }
        #expect(try TokensFile.load(path: path) == [1, 2, 3])
        #expect(!FileManager.default.fileExists(atPath: path + ".tmp"))
        try disk.free()
        try TokensFile.save(many, path: path)
        #expect(try TokensFile.load(path: path) == many)
    }

    @Test func unsortedTokensAreSortedOnLoad() throws {
        let path = Scratch.directory("tokens").path + "/tokens.json"
        try Data(#"{ "tokens": [30, 10, 20], "other": 1 }"#.utf8).write(to: URL(fileURLWithPath: path))
        #expect(try TokensFile.load(path: path) == [10, 20, 30])
    }

    static let badFiles: [(content: String, reason: String)] = [
        ("", "not a JSON object"),
        ("[1,2,3]", "not a JSON object"),
        (#"{"tokens":[1,null]}"#, "tokens.[1]"),
        (#"{"tokens":"1,2"}"#, "tokens"),
        (#"{"token":[1]}"#, "tokens"),
        (#"{"tokens":[1,-2]}"#, "tokens[1] = -2.0 is not an integer in 0...4294967295"),
        (#"{"tokens":[4294967296]}"#, "tokens[0] = 4294967296.0 is not"),
        (#"{"tokens":[1.5]}"#, "tokens[0] = 1.5 is not"),
        (#"{"tokens":[7,3,7]}"#, "token 7 appears twice"),
        ("{\"tokens\":[" + (0...4096).map(String.init).joined(separator: ",") + "]}", "4097 tokens, more than 4096"),
        (String(repeating: " ", count: 300_000), "larger than")
    ]

    /// By index: the large contents would flood the test names.
    @Test(arguments: badFiles.indices)
    func badFilesAreRejectedByName(_ index: Int) throws {
        let (content, reason) = Self.badFiles[index]
        let path = Scratch.directory("tokens").path + "/bad-tokens.json"
        try Data(content.utf8).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: TokensFileError.self) { try TokensFile.load(path: path) }
        #expect(error?.description.hasPrefix("tokens file \(path): ") == true, "\(String(describing: error))")
        #expect(error?.description.contains(reason) == true, "\(String(describing: error))")
    }

    @Test func aDirectoryIsAnError() {
        let dir = Scratch.directory("tokens").path
        #expect(throws: TokensFileError.self) { try TokensFile.load(path: dir) }
    }

    @Test func unsortedOrDuplicateTokensAreNotSaved() {
        let path = Scratch.directory("tokens").path + "/tokens.json"
        #expect(throws: TokensFileError.self) { try TokensFile.save([2, 1], path: path) }
        #expect(throws: TokensFileError.self) { try TokensFile.save([1, 1], path: path) }
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}
