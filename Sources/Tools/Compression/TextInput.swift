import Formats
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Parses sample lines of the two text formats `bench compression` reads:
///
/// * `promtool tsdb dump`: `{labels} value timestamp_ms`
/// * OpenMetrics: `name{labels} value timestamp_seconds[.fraction]`, `#` lines
///   are comments, `# EOF` ends the input, an exemplar (`# {...} ...`) after
///   the timestamp is ignored.
///
/// Which one is decided by the first non-empty line: `{` means dump. Values are
/// Go float text (`NaN` becomes Go's NaN bits 0x7FF8000000000001, as Prometheus
/// parses it). OpenMetrics timestamps keep millisecond precision (digits past the
/// third decimal are dropped, as Prometheus truncates to ms); a sample without a
/// timestamp is an error since the benchmark needs one.
enum TextInput {
    enum Format: String { case dump = "promtool dump", openMetrics = "OpenMetrics" }

    /// Reads every sample of `reader`'s file. `progress` gets the fraction of the
    /// file read, about every 4 MiB.
    static func read(_ reader: LineReader, progress: ((Double) -> Void)?) throws(InputError) -> (SeriesSamples, Format) {
        var builder = SeriesSamplesBuilder()
        var format: Format?
        var previousKey: [UInt8] = []
        var previousSeries = -1
        var nextReport = 4 << 20
        try reader.forEachLine { (line, number) throws(InputError) -> Bool in
            func fail(_ why: String) -> InputError { InputError(file: reader.path, line: number, reason: why) }
            if let progress, reader.offset >= nextReport {
                progress(Double(reader.offset) / Double(max(reader.fileSize, 1)))
                nextReport = reader.offset + (4 << 20)
            }
            if line.isEmpty { return true }
            if line[0] == UInt8(ascii: "#") {
                if format == nil { format = .openMetrics }
                if format == .openMetrics && line.elementsEqual("# EOF".utf8) { return false }
                if format == .dump { throw fail("unexpected comment in promtool dump text") }
                return true
            }
            let current = format ?? (line[0] == UInt8(ascii: "{") ? .dump : .openMetrics)
            format = current
            let seriesEnd = try seriesEnd(line, format: current, fail)
            var p = seriesEnd
            let valueField = field(line, &p)
            let timeField = field(line, &p)
            guard !valueField.isEmpty else { throw fail("missing value (column \(seriesEnd + 1))") }
            guard !timeField.isEmpty else { throw fail("missing timestamp") }
            let rest = field(line, &p)
            if !rest.isEmpty && !(current == .openMetrics && rest.first == UInt8(ascii: "#")) {
                throw fail("unexpected text after the timestamp (column \(p - rest.count + 1))")
            }
            guard let value = parseValue(valueField) else {
                throw fail("bad value '\(String(decoding: valueField, as: UTF8.self))'")
            }
            let timestamp = current == .dump ? parseInteger(timeField) : parseSeconds(timeField)
            guard let timestamp else {
                throw fail("bad timestamp '\(String(decoding: timeField, as: UTF8.self))'")
            }
            let key = UnsafeBufferPointer(rebasing: line[..<seriesEnd])
            if previousSeries < 0 || !key.elementsEqual(previousKey) {
                let name = String(decoding: key, as: UTF8.self)
                if let known = builder.series(named: name) {
                    previousSeries = known
                } else {
                    if current == .dump {
                        do throws(FormatError) { _ = try DumpFormat.parse(Substring(String(decoding: line, as: UTF8.self))) } catch {
                            throw fail("\(error.reason) (column \(error.offset + 1))")
                        }
                    }
                    previousSeries = builder.addSeries(name)
                }
                previousKey = Array(key)
            }
            builder.append(series: previousSeries, timestamp: timestamp, valueBits: value)
            return true
        }
        return (builder.build(), format ?? .dump)
    }

    /// End of the series text: the closing `}` of the label set (quotes and
    /// escapes honoured), or for OpenMetrics a bare metric name's end.
    static func seriesEnd(
        _ line: UnsafeBufferPointer<UInt8>, format: Format,
        _ fail: (String) -> InputError
    ) throws(InputError) -> Int {
        var p = 0
        if format == .openMetrics {
            while p < line.count, isNameByte(line[p], first: p == 0) { p += 1 }
            if p == 0 { throw fail("expected a metric name (column 1)") }
            if p == line.count || line[p] == UInt8(ascii: " ") { return p }
        }
        guard line[p] == UInt8(ascii: "{") else { throw fail("expected '{' (column \(p + 1))") }
        var inQuotes = false
        p += 1
        while p < line.count {
            let c = line[p]
            if inQuotes && c == UInt8(ascii: "\\") { p += 2; continue }
            if c == UInt8(ascii: "\"") { inQuotes.toggle() }
            if !inQuotes && c == UInt8(ascii: "}") { return p + 1 }
            p += 1
        }
        throw fail(inQuotes ? "unterminated label value" : "expected '}'")
    }

    static func isNameByte(_ c: UInt8, first: Bool) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
            || c == UInt8(ascii: "_") || c == UInt8(ascii: ":") || (!first && c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
    }

    /// The next space-separated field from `p` (empty at the end of the line).
    static func field(_ line: UnsafeBufferPointer<UInt8>, _ p: inout Int) -> UnsafeBufferPointer<UInt8> {
        while p < line.count, line[p] == UInt8(ascii: " ") { p += 1 }
        let start = p
        while p < line.count, line[p] != UInt8(ascii: " ") { p += 1 }
        return UnsafeBufferPointer(rebasing: line[start..<p])
    }

    /// A Go float's text as bits; every NaN becomes Go's NaN (0x7FF8000000000001).
    static func parseValue(_ text: UnsafeBufferPointer<UInt8>) -> UInt64? {
        guard !text.isEmpty, text.count < 64 else { return nil }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buf -> UInt64? in
            let base = buf.baseAddress!
            text.withMemoryRebound(to: CChar.self) { base.update(from: $0.baseAddress!, count: text.count) }
            base[text.count] = 0
            var end: UnsafeMutablePointer<CChar>?
            let v = strtod(base, &end)
            guard end == base + text.count else { return nil }
            return v.isNaN ? 0x7FF8_0000_0000_0001 : v.bitPattern
        }
    }

    /// A decimal Int64 with optional sign; nil on overflow or junk.
    static func parseInteger(_ text: UnsafeBufferPointer<UInt8>) -> Int64? {
        var p = 0
        let negative = text.first == UInt8(ascii: "-")
        if negative || text.first == UInt8(ascii: "+") { p = 1 }
        guard p < text.count else { return nil }
        var v: Int64 = 0
        while p < text.count {
            let d = Int64(text[p]) - 48
            guard d >= 0 && d <= 9 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(d)
            guard !o1, !o2 else { return nil }
            v = s
            p += 1
        }
        return negative ? -v : v
    }

    /// Seconds with an optional fraction, as milliseconds (truncated past ms).
    static func parseSeconds(_ text: UnsafeBufferPointer<UInt8>) -> Int64? {
        let dot = text.firstIndex(of: UInt8(ascii: "."))
        guard let whole = parseInteger(UnsafeBufferPointer(rebasing: text[..<(dot ?? text.count)])) else { return nil }
        var millis: Int64 = 0
        if let dot {
            let fraction = text[(dot + 1)...]
            guard !fraction.isEmpty, fraction.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
            for (k, digit) in fraction.prefix(3).enumerated() { millis += Int64(digit - 48) * [100, 10, 1][k] }
        }
        let negative = text.first == UInt8(ascii: "-")
        let (ms, o1) = whole.multipliedReportingOverflow(by: 1000)
        let (t, o2) = ms.addingReportingOverflow(negative ? -millis : millis)
        return o1 || o2 ? nil : t
    }
}
