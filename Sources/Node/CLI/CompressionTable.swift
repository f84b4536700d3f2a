import Foundation
import Tools

/// The three renderings of a `CompressionReport`.
///
/// * table: aligned text for people.
/// * csv: the codec table (header `codec,bytes,bytes_per_sample,...`), then a
///   blank line and the XOR breakdown (header `part,encoding,count,share,...`)
///   when an XOR codec ran.
/// * json: the report with sorted (stable) snake_case keys.
enum CompressionTable {
    static let codecColumns = [
        "codec", "bytes", "bytes_per_sample", "ratio_to_raw", "encode_ns_per_sample",
        "encode_mb_per_s", "decode_ns_per_sample", "decode_mb_per_s", "round_trip"
    ]
    static let partColumns = ["part", "encoding", "count", "share", "bits", "control_bits", "bits_per_sample"]

    static func codecRow(_ c: CodecResult) -> [String] {
        [
            c.codec, String(c.bytes), f(c.bytesPerSample, 3), f(c.ratioToRaw, 2), f(c.encodeNsPerSample, 2),
            f(c.encodeMBPerSecond, 1), f(c.decodeNsPerSample, 2), f(c.decodeMBPerSecond, 1), c.roundTrip ? "ok" : "FAILED"
        ]
    }

    static func partRow(_ p: XORBitBreakdown.Part, samples: Int) -> [String] {
        [
            p.name, p.encoding, String(p.count), f(p.share * 100, 2) + "%", String(p.bits), String(p.controlBits),
            f(Double(p.bits) / Double(max(samples, 1)), 3)
        ]
    }

    static func table(_ r: CompressionReport) -> String {
        var s = "input: \(r.input) (\(r.inputKind)): \(r.series) series, \(r.samples) samples"
        if r.duplicatesDropped > 0 { s += ", \(r.duplicatesDropped) duplicate timestamps dropped" }
        s += "\nbest of \(r.repetitions) runs; MB/s of raw bytes (16 per sample); LZ4/zlib blocks of \(r.blockSize) bytes\n\n"
        s += align([codecColumns] + r.codecs.map(codecRow))
        if let x = r.xor {
            let n = Double(max(x.samples, 1))
            s += "\nXOR chunks: \(x.chunks) chunks, \(f(Double(x.samples) / Double(max(x.chunks, 1)), 1)) samples/chunk, "
            s += "\(x.chunkBytes) chunk bytes (\(f(Double(x.chunkBytes) / n, 3)) B/sample); "
            s += "as block segment records +\(x.recordOverheadBytes) bytes = \(f(Double(x.chunkBytes + x.recordOverheadBytes) / n, 3)) B/sample\n"
            s += "bits per sample: timestamps \(f(Double(x.timestampBits) / n, 3)), values \(f(Double(x.valueBits) / n, 3)), "
            s += "header+padding \(f(Double(x.overheadBits) / n, 3)), total \(f(Double(x.totalBits) / n, 3))\n\n"
            s += align([partColumns] + x.parts.map { partRow($0, samples: x.samples) })
        }
        return s
    }

    static func csv(_ r: CompressionReport) -> String {
        var s = ([codecColumns] + r.codecs.map(codecRow)).map { $0.map(csvField).joined(separator: ",") }.joined(separator: "\n") + "\n"
        if let x = r.xor {
            s +=
                "\n"
                + ([partColumns] + x.parts.map { partRow($0, samples: x.samples) })
                .map { $0.map(csvField).joined(separator: ",") }.joined(separator: "\n") + "\n"
        }
        return s
    }

    static func json(_ r: CompressionReport) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: try encoder.encode(r), as: UTF8.self)
    }

    static func f(_ v: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", v) }

    static func csvField(_ s: String) -> String {
        s.contains(",") || s.contains("\"") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    /// Left-aligned first two columns, right-aligned numbers.
    static func align(_ rows: [[String]]) -> String {
        let widths = (0..<(rows.first?.count ?? 0)).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { c, cell in
                let pad = String(repeating: " ", count: widths[c] - cell.count)
                return c == 0 || (c == 1 && rows[0][1] == "encoding") ? cell + pad : pad + cell
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n") + "\n"
    }
}
