import ArgumentParser
import Foundation

/// A failure the CLI reports as one line on stderr and exit status 1.
struct CLIFailure: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// Buffered stdout for commands that print many lines.
struct FileHandleOutputStream: TextOutputStream {
    static var standardOutput: FileHandleOutputStream { FileHandleOutputStream() }
    private var buffer: [UInt8] = []

    mutating func write(_ string: String) {
        buffer.append(contentsOf: string.utf8)
        if buffer.count >= 1 << 16 { flush() }
    }

    mutating func flush() {
        guard !buffer.isEmpty else { return }
        FileHandle.standardOutput.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }
}
