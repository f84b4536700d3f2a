import Formats

// Reading the block files whose bytes Formats decodes.

extension IndexReader {
    /// Reads and opens the index at `path`.
    package init(path: String) throws {
        guard Files.exists(path) else { throw FormatError(file: path, offset: 0, reason: "missing") }
        try self.init(bytes: try Files.read(path), file: path)
    }
}

extension BlockMeta {
    /// Reads `<directory>/meta.json`.
    public static func read(directory: String) throws -> BlockMeta {
        let path = directory + "/" + fileName
        guard Files.exists(path) else { throw FormatError(file: path, offset: 0, reason: "missing") }
        return try decode(try Files.read(path), file: path)
    }
}
