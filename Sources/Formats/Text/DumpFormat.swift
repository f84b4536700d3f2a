/// The text `promtool tsdb dump` prints, one sample per line:
/// `{__name__="up", job="a"} 1 1700000000000` (labels, Go `%g` value, ms timestamp).
public enum DumpFormat {
    public struct Line: Sendable, Equatable {
        public var labels: Labels
        public var sample: Sample
    }

    /// Parses one line. Errors name the line's column.
    public static func parse(_ line: Substring) throws(FormatError) -> Line {
        var p = line.utf8.startIndex
        let u = line.utf8
        func fail(_ why: String) -> FormatError {
            FormatError(file: "line", offset: u.distance(from: u.startIndex, to: p), reason: why)
        }
        func skipSpaces() { while p < u.endIndex, u[p] == UInt8(ascii: " ") { p = u.index(after: p) } }
        guard p < u.endIndex, u[p] == UInt8(ascii: "{") else { throw fail("expected '{'") }
        p = u.index(after: p)
        var labels: [Label] = []
        skipSpaces()
        while p < u.endIndex, u[p] != UInt8(ascii: "}") {
            let nameStart = p
            while p < u.endIndex, u[p] != UInt8(ascii: "=") { p = u.index(after: p) }
            guard p < u.endIndex else { throw fail("label without '='") }
            let name = String(line[nameStart..<p])
            p = u.index(after: p)
            guard p < u.endIndex, u[p] == UInt8(ascii: "\"") else { throw fail("expected '\"'") }
            p = u.index(after: p)
            var value = [UInt8]()
            while true {
                guard p < u.endIndex else { throw fail("unterminated label value") }
                let c = u[p]
                if c == UInt8(ascii: "\"") { break }
                if c == UInt8(ascii: "\\") {
                    p = u.index(after: p)
                    guard p < u.endIndex else { throw fail("dangling escape") }
                    switch u[p] {
                    case UInt8(ascii: "n"): value.append(0x0A)
                    case UInt8(ascii: "t"): value.append(0x09)
                    case UInt8(ascii: "r"): value.append(0x0D)
                    case UInt8(ascii: "\\"), UInt8(ascii: "\""): value.append(u[p])
                    default: throw fail("unsupported escape")
                    }
                } else {
                    value.append(c)
                }
                p = u.index(after: p)
            }
            p = u.index(after: p)
            labels.append(Label(name, String(decoding: value, as: UTF8.self)))
            if p < u.endIndex, u[p] == UInt8(ascii: ",") { p = u.index(after: p) }
            skipSpaces()
        }
        guard p < u.endIndex else { throw fail("expected '}'") }
        p = u.index(after: p)
        skipSpaces()
        let valueStart = p
        while p < u.endIndex, u[p] != UInt8(ascii: " ") { p = u.index(after: p) }
        guard let value = parseGoFloat(line[valueStart..<p]) else { throw fail("bad value") }
        skipSpaces()
        guard let ts = Int64(line[p...]) else { throw fail("bad timestamp") }
        return Line(labels: Labels(labels), sample: Sample(timestamp: ts, value: value))
    }

    /// Go's float text: decimal/exponent forms plus `NaN`, `+Inf`, `-Inf`. A NaN
    /// becomes Go's math.NaN() bit pattern (0x7FF8000000000001).
    public static func parseGoFloat(_ s: Substring) -> Double? {
        switch s {
        case "NaN": return Double(bitPattern: 0x7FF8_0000_0000_0001)
        case "+Inf", "Inf": return .infinity
        case "-Inf": return -.infinity
        default: return Double(s)
        }
    }

    /// Formats a value so that Go's strconv.ParseFloat reads back the same bits
    /// (NaN payloads excepted).
    public static func formatGoFloat(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v < 0 ? "-Inf" : "+Inf" }
        return v.description
    }
}
