import Foundation
import TestSupport
import Testing

/// The runner every test uses for other programs: it must not hang on a child
/// that fills both pipes, must kill a hung child, and must survive a child that
/// exits without reading its input.
@Suite struct SubprocessTests {
    /// A megabyte to stderr before a megabyte to stdout: a runner reading stdout
    /// to its end before stderr waits forever on the blocked child.
    @Test func bothPipesAreDrainedTogether() throws {
        let r = try Subprocess.run("sh", ["-c", "head -c 1000000 /dev/zero >&2; head -c 1000000 /dev/zero"], timeout: 120)
        #expect(r.succeeded, "\(r.reason) \(r.status)")
        #expect(r.stdoutData.count == 1_000_000)
        #expect(r.stderrData.count == 1_000_000)
    }

    /// `sleep` exits 0 after 60 s: only the kill at the deadline makes this throw.
    @Test func aHungChildIsKilledAtTheDeadline() {
        let error = #expect(throws: SubprocessError.self) { try Subprocess.run("sleep", ["60"], timeout: 1) }
        #expect(error?.description.hasPrefix("sleep 60 did not finish within 1 s and was killed") == true, "\(String(describing: error))")
    }

    @Test func inputEnvironmentAndDirectoryReachTheChild() throws {
        let dir = Scratch.directory("subprocess").resolvingSymlinksInPath()
        let r = try Subprocess.run(
            "sh", ["-c", #"cat; printf ' %s ' "$MUNINN_SUBPROCESS_TEST"; pwd -P"#],
            directory: dir, environment: ["MUNINN_SUBPROCESS_TEST": "set"], input: Data("abc".utf8))
        #expect(r.succeeded, "\(r.stderr)")
        #expect(r.stdout == "abc set \(dir.path)\n")
    }

    /// Ten megabytes offered to a child that exits at once: the write fails with
    /// EPIPE instead of a SIGPIPE ending the test process, and the status is the child's.
    @Test func aChildThatIgnoresItsInputKeepsItsStatus() throws {
        let r = try Subprocess.run("sh", ["-c", "exit 3"], input: Data(count: 10 << 20))
        #expect(r.reason == .exit && r.status == 3)
    }

    @Test func failuresNameTheCommandAndWhatItSaid() throws {
        let error = #expect(throws: SubprocessError.self) { try Subprocess.output("sh", ["-c", "echo broken >&2; exit 2"]) }
        #expect(error?.description == "sh -c echo broken >&2; exit 2 exited 2: broken\n")
        let killed = try Subprocess.run("sh", ["-c", "kill -9 $$"])
        #expect(killed.reason == .uncaughtSignal && killed.status == SIGKILL && !killed.succeeded)
        #expect(Subprocess.find("muninn-no-such-program") == nil)
        #expect(throws: SubprocessError.self) { try Subprocess.run("muninn-no-such-program") }
        #expect(Subprocess.find("sh") != nil)
    }
}
