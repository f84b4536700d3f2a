import Foundation
import TestSupport
import Testing

@testable import Engine

/// The crash-safe write recipe every writer of a whole file or directory uses.
@Suite struct FilesTests {
    struct FillFailed: Error {}

    @Test func writeAtomicallyReplacesTheFileAndLeavesNoTemporary() throws {
        let dir = Scratch.directory("files-atomic").path
        let path = dir + "/state.json"
        try Files.writeAtomically(path, Array("old".utf8))
        try Files.writeAtomically(path, Array("new".utf8))
        #expect(try Files.read(path) == Array("new".utf8))
        #expect(try Files.list(dir) == ["state.json"])
    }

    @Test func aFailedFillKeepsTheOldFileAndRemovesTheTemporary() throws {
        let dir = Scratch.directory("files-fail").path
        let path = dir + "/object"
        try Files.writeAtomically(path, Array("kept".utf8))
        let temporary = dir + "/object.partial"
        #expect(throws: FillFailed.self) {
            try Files.commitAtomically(try Files.create(temporary), temporary: temporary, to: path) { fd in
                try Array("half".utf8).withUnsafeBytes { try Files.writeAll(fd, $0, path: temporary) }
                throw FillFailed()
            }
        }
        #expect(try Files.read(path) == Array("kept".utf8))
        #expect(try Files.list(dir) == ["object"])
    }

    @Test func aMissingDirectoryIsASystemErrorNamingThePath() throws {
        let path = Scratch.path("files-missing").path + "/state.json"
        let error = try #require(throws: SystemError.self) { try Files.writeAtomically(path, [1]) }
        #expect(error.operation == "open")
        #expect(error.path == path + ".tmp")
        #expect(!Files.exists(path))
    }

    @Test func renameDurablyMovesADirectoryIntoPlace() throws {
        let dir = Scratch.directory("files-rename").path
        try Files.makeDirectory(dir + "/block.tmp-for-creation")
        try Files.writeAtomically(dir + "/block.tmp-for-creation/meta.json", [1, 2])
        try Files.renameDurably(dir + "/block.tmp-for-creation", to: dir + "/block")
        #expect(try Files.list(dir) == ["block"])
        #expect(try Files.read(dir + "/block/meta.json") == [1, 2])
        #expect(Files.parent(of: "/a/b") == "/a")
        #expect(Files.parent(of: "/a") == "/")
        #expect(Files.parent(of: "a") == ".")
    }
}
