import Foundation

/// How tests run other programs (muninn, promtool, openssl, curl, mount, ...),
/// in one place so each gets the same care: both output pipes are drained at
/// once (a child blocked writing a full stderr pipe while the test waits for
/// its stdout to end would hang), a child that hangs is killed at a deadline
/// so the test fails instead of stalling CI, and errors name the command and
/// what it printed.
public enum Subprocess {
    /// Deadline for a command run to completion. Generous, so that only a hang
    /// trips it on a loaded machine: tests never rely on timing.
    public static let defaultTimeout: TimeInterval = 600

    /// Runs `executable` (a path, or a name looked up on PATH) to completion
    /// and returns its status and output. `environment` is added to the test's
    /// own; `input`, when given, is the child's standard input, which is
    /// otherwise empty. Throws when the program cannot be started or does not
    /// finish within `timeout` (it is then killed with SIGKILL).
    public static func run(
        _ executable: String, _ arguments: [String] = [], directory: URL? = nil,
        environment: [String: String] = [:], input: Data? = nil,
        timeout: TimeInterval = defaultTimeout
    ) throws -> SubprocessResult {
        let command = describe(executable, arguments)
        let process = try prepare(executable, arguments, directory: directory, environment: environment)
        let out = Pipe(), err = Pipe(), stdin = input.map { _ in Pipe() }
        process.standardOutput = out
        process.standardError = err
        process.standardInput = stdin ?? FileHandle.nullDevice
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        let stdout = Drain(out.fileHandleForReading), stderr = Drain(err.fileHandleForReading)
        if let input, let stdin { feed(input, to: stdin.fileHandleForWriting) }

        if exited.wait(timeout: .now() + timeout) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            exited.wait()
            throw SubprocessError(
                description: "\(command) did not finish within \(Int(timeout)) s and was killed; "
                    + "stderr so far: \(String(decoding: stderr.collected, as: UTF8.self))")
        }
        // The pipes end when the child exits unless a grandchild of its own
        // still holds them; the deadline keeps such a child from hanging the test.
        let grace = DispatchTime.now() + 30
        guard stdout.finished(by: grace), stderr.finished(by: grace) else {
            throw SubprocessError(description: "\(command) exited but its output stayed open (a child of its own holds it)")
        }
        return SubprocessResult(
            status: process.terminationStatus, reason: process.terminationReason,
            stdoutData: stdout.collected, stderrData: stderr.collected)
    }

    /// Runs a command that must succeed and returns its standard output; throws
    /// with its exit status and stderr otherwise.
    @discardableResult
    public static func output(
        _ executable: String, _ arguments: [String] = [], directory: URL? = nil,
        environment: [String: String] = [:], input: Data? = nil,
        timeout: TimeInterval = defaultTimeout
    ) throws -> Data {
        let result = try run(
            executable, arguments, directory: directory, environment: environment,
            input: input, timeout: timeout)
        guard result.succeeded else {
            let how = result.reason == .exit ? "exited \(result.status)" : "was killed by signal \(result.status)"
            throw SubprocessError(description: "\(describe(executable, arguments)) \(how): \(result.stderr)")
        }
        return result.stdoutData
    }

    /// Where a long-running child's output goes.
    public enum ChildOutput {
        /// Standard output through a pipe, read from `ChildProcess.stdout`;
        /// standard error discarded.
        case pipe
        /// Standard output and error interleaved into a new file, read back
        /// with `ChildProcess.output`.
        case file(URL)
    }

    /// Starts a long-running child (a node, Prometheus, a crash writer) and
    /// returns at once; the handle stops it, and kills it if the test forgets.
    public static func start(
        _ executable: String, _ arguments: [String] = [], output: ChildOutput,
        directory: URL? = nil, environment: [String: String] = [:]
    ) throws -> ChildProcess {
        let process = try prepare(executable, arguments, directory: directory, environment: environment)
        process.standardInput = FileHandle.nullDevice
        switch output {
        case .pipe:
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            return ChildProcess(process, stdout: out.fileHandleForReading, log: nil)
        case .file(let log):
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            let handle = try FileHandle(forWritingTo: log)
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            return ChildProcess(process, stdout: nil, log: log)
        }
    }

    /// `name` if it is a path to an executable, else the first executable of
    /// that name in a PATH directory; nil when there is none.
    public static func find(_ name: String) -> URL? {
        if name.contains("/") {
            return FileManager.default.isExecutableFile(atPath: name) ? URL(fileURLWithPath: name) : nil
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return URL(fileURLWithPath: candidate) }
        }
        return nil
    }

    private static func prepare(
        _ executable: String, _ arguments: [String], directory: URL?,
        environment: [String: String]
    ) throws -> Process {
        guard let url = find(executable) else {
            throw SubprocessError(description: "\(executable): no such executable (PATH is searched for a bare name)")
        }
        let process = Process()
        process.executableURL = url
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        return process
    }

    /// Writes `data` to the child's stdin on its own thread, so a child that
    /// answers before reading all of it cannot block the test, then closes it.
    /// A child that exits without reading makes the write fail with EPIPE: the
    /// thread blocks SIGPIPE, which would otherwise end the whole test process,
    /// and the signal left pending dies with the thread.
    private static func feed(_ data: Data, to handle: FileHandle) {
        let thread = Thread {
            var block = sigset_t()
            sigemptyset(&block)
            sigaddset(&block, SIGPIPE)
            pthread_sigmask(SIG_BLOCK, &block, nil)
            data.withUnsafeBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let n = write(handle.fileDescriptor, bytes.baseAddress! + offset, bytes.count - offset)
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { break }
                    offset += n
                }
            }
            try? handle.close()
        }
        thread.start()
    }

    private static func describe(_ executable: String, _ arguments: [String]) -> String {
        ([executable] + arguments).joined(separator: " ")
    }
}

/// A finished command.
public struct SubprocessResult {
    /// The exit status, or the signal number when `reason` is `.uncaughtSignal`.
    public let status: Int32
    public let reason: Process.TerminationReason
    public let stdoutData: Data
    public let stderrData: Data

    public var stdout: String { String(decoding: stdoutData, as: UTF8.self) }
    public var stderr: String { String(decoding: stderrData, as: UTF8.self) }
    /// Exited by itself with status 0.
    public var succeeded: Bool { reason == .exit && status == 0 }
}

public struct SubprocessError: Error, CustomStringConvertible {
    public let description: String
}

/// A child started by `Subprocess.start`, stopped by the test (SIGTERM, then
/// SIGKILL) or killed when the handle goes away.
public final class ChildProcess: @unchecked Sendable {
    public let process: Process
    /// The read end of its standard output, for `ChildOutput.pipe`.
    public let stdout: FileHandle?
    /// The file holding its output, for `ChildOutput.file`.
    public let log: URL?

    init(_ process: Process, stdout: FileHandle?, log: URL?) {
        self.process = process
        self.stdout = stdout
        self.log = log
    }

    public var pid: Int32 { process.processIdentifier }

    /// Sends `signal` and waits for the exit status (SIGKILL after `timeout`).
    @discardableResult
    public func stop(_ signal: Int32 = SIGTERM, timeout: TimeInterval = 30) -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        kill(pid, signal)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(pid, SIGKILL); process.waitUntilExit() }
        return process.terminationStatus
    }

    /// Polls until the process exits by itself; its status, or nil after `timeout`.
    public func waitForExit(timeout: TimeInterval = 60) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// What it has written to its log file so far ("" for `ChildOutput.pipe`).
    public var output: String { log.flatMap { try? String(contentsOf: $0, encoding: .utf8) } ?? "" }

    deinit { if process.isRunning { kill(pid, SIGKILL) } }
}

/// Reads a pipe to its end on a thread of its own.
private final class Drain: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        let thread = Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(handle.fileDescriptor, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                lock.lock(); data.append(contentsOf: buffer[0..<n]); lock.unlock()
            }
            done.signal()
        }
        thread.start()
    }

    /// What has been read so far.
    var collected: Data { lock.lock(); defer { lock.unlock() }; return data }

    /// Waits until the pipe has ended; false if `deadline` passes first.
    func finished(by deadline: DispatchTime) -> Bool {
        done.wait(timeout: deadline) == .success
    }
}
