import Engine
import Formats
import Foundation

/// Read-only walks over a WAL (or WBL) directory for the offline tools: the
/// newest checkpoint, then the segments after it, never repairing anything.
package enum WALScan {
    /// Calls `body` with each record and where it is (`checkpoint.N/SEGMENT@OFFSET`
    /// or `SEGMENT@OFFSET`). Throws `WALCorruption` at the first bad record.
    package static func walk(_ dir: String, _ body: (String, WALRecord) throws -> Void) throws {
        let checkpoint = try WALSegments.checkpoints(dir).last
        if let checkpoint {
            let name = URL(fileURLWithPath: checkpoint.path).lastPathComponent
            for index in try WALSegments.list(checkpoint.path) {
                let path = checkpoint.path + "/" + WALSegments.name(index)
                try WALReader.readSegment(path: path, segment: index) { raw, offset in
                    try body("\(name)/\(WALSegments.name(index))@\(offset)", try WALRecord.decode(raw))
                }
            }
        }
        let first = (checkpoint?.index ?? -1) + 1
        for index in try WALSegments.list(dir) where index >= first {
            try WALReader.readSegment(path: dir + "/" + WALSegments.name(index), segment: index) { raw, offset in
                try body("\(WALSegments.name(index))@\(offset)", try WALRecord.decode(raw))
            }
        }
    }
}
