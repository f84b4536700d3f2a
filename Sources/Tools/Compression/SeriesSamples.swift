import Formats

/// Samples grouped per series, each series in strictly increasing time order,
/// stored as flat arrays (series `i` owns `starts[i] ..< starts[i + 1]`) so the
/// codecs can walk them through raw pointers.
package struct SeriesSamples: Sendable {
    /// Each series' identity as it appeared in the input (label text).
    package let names: [String]
    /// `names.count + 1` offsets into `timestamps` / `values`.
    package let starts: [Int]
    package let timestamps: [Int64]
    /// IEEE-754 bit patterns, so NaN payloads survive.
    package let values: [UInt64]
    /// Samples dropped because their series already had one at that timestamp.
    package let duplicatesDropped: Int

    package var seriesCount: Int { names.count }
    package var sampleCount: Int { timestamps.count }

    /// The samples of series `i`.
    package func samples(ofSeries i: Int) -> [Sample] {
        (starts[i]..<starts[i + 1]).map { Sample(timestamp: timestamps[$0], valueBits: values[$0]) }
    }
}

/// Collects samples in input order, then sorts each series by time.
///
/// Ordering rule: a stable sort by timestamp per series; of several samples with
/// the same timestamp the first one read is kept and the others counted in
/// `duplicatesDropped` (an XOR chunk needs strictly increasing timestamps, and
/// Prometheus's appender also keeps the first). Series keep the order in which
/// they first appeared.
package struct SeriesSamplesBuilder {
    private var index: [String: Int] = [:]
    private var names: [String] = []
    private var timestamps: [[Int64]] = []
    private var values: [[UInt64]] = []

    package init() {}

    package var seriesCount: Int { names.count }

    /// The index of series `name`, or nil if it has not been seen.
    package func series(named name: String) -> Int? { index[name] }

    /// Adds a series (which must be new) and returns its index.
    package mutating func addSeries(_ name: String) -> Int {
        let i = names.count
        index[name] = i
        names.append(name)
        timestamps.append([])
        values.append([])
        return i
    }

    package mutating func append(series i: Int, timestamp: Int64, valueBits: UInt64) {
        timestamps[i].append(timestamp)
        values[i].append(valueBits)
    }

    /// Sorts, drops duplicate timestamps and flattens.
    package consuming func build() -> SeriesSamples {
        var starts = [0]
        var allT: [Int64] = []
        var allV: [UInt64] = []
        let total = timestamps.reduce(0) { $0 + $1.count }
        allT.reserveCapacity(total)
        allV.reserveCapacity(total)
        var dropped = 0
        for i in names.indices {
            let t = timestamps[i], v = values[i]
            var order = Array(t.indices)
            if zip(t, t.dropFirst()).contains(where: { $0 >= $1 }) {
                order.sort { t[$0] < t[$1] || (t[$0] == t[$1] && $0 < $1) }
            }
            var last: Int64? = nil
            for k in order {
                if last == t[k] { dropped += 1; continue }
                last = t[k]
                allT.append(t[k])
                allV.append(v[k])
            }
            starts.append(allT.count)
            timestamps[i] = []
            values[i] = []
        }
        return SeriesSamples(names: names, starts: starts, timestamps: allT, values: allV, duplicatesDropped: dropped)
    }
}
