import Foundation

/// Time arguments and time columns of the offline tools.
package enum TimeText {
    /// Parses a millisecond timestamp (`1700000000000`, may be negative) or an
    /// RFC 3339 time (`2023-11-14T22:13:20Z`, `2023-11-14T23:13:20.5+01:00`).
    /// Nil when it is neither.
    package static func parseMilliseconds(_ text: String) -> Int64? {
        if let ms = Int64(text) { return ms }
        for options: ISO8601DateFormatter.Options in [[.withInternetDateTime], [.withInternetDateTime, .withFractionalSeconds]] {
            let f = ISO8601DateFormatter()
            f.formatOptions = options
            if let date = f.date(from: text) {
                return Int64((date.timeIntervalSince1970 * 1000).rounded())
            }
        }
        return nil
    }

    /// `2023-11-14 22:13:20.000 UTC`; out-of-range values print as the integer.
    package static func utc(_ ms: Int64) -> String {
        guard abs(ms) < 253_402_300_800_000 else { return String(ms) }
        var seconds = time_t(ms.floorDivided(by: 1000))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let millis = Int(ms - Int64(seconds) * 1000)
        return String(
            format: "%04d-%02d-%02d %02d:%02d:%02d.%03d UTC", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
            Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), millis)
    }

    /// Go's `time.Duration.String()` of `ms` milliseconds: `2h0m0s`, `46m13.001s`,
    /// `500ms`, `0s`.
    package static func duration(_ ms: Int64) -> String {
        if ms == 0 { return "0s" }
        let sign = ms < 0 ? "-" : ""
        let m = ms.magnitude
        if m < 1000 { return "\(sign)\(m)ms" }
        var seconds = String(m / 1000 % 60)
        if m % 1000 != 0 {
            var frac = String(m % 1000)
            frac = String(repeating: "0", count: 3 - frac.count) + frac
            while frac.hasSuffix("0") { frac.removeLast() }
            seconds += "." + frac
        }
        let minutes = m / 60_000, hours = m / 3_600_000
        if hours > 0 { return "\(sign)\(hours)h\(minutes % 60)m\(seconds)s" }
        if minutes > 0 { return "\(sign)\(minutes)m\(seconds)s" }
        return "\(sign)\(seconds)s"
    }

    /// Sizes in binary units with one decimal: `512B`, `214.8KiB`, `1.2GiB`.
    package static func bytes(_ n: Int64) -> String {
        let units = ["KiB", "MiB", "GiB", "TiB"]
        guard n >= 1024 else { return "\(n)B" }
        var v = Double(n) / 1024
        var unit = 0
        while v >= 1024, unit < units.count - 1 { v /= 1024; unit += 1 }
        return String(format: "%.1f%@", v, units[unit])
    }
}

extension Int64 {
    /// Division rounding toward negative infinity.
    func floorDivided(by d: Int64) -> Int64 {
        let q = self / d
        return (self % d != 0 && (self < 0) != (d < 0)) ? q - 1 : q
    }
}
