/// A label name/value pair. Ordering is byte-wise on UTF-8 (Prometheus's order),
/// not Swift's Unicode-aware `String` order.
public struct Label: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var name: String
    public var value: String

    @inlinable public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }

    @inlinable public static func < (a: Label, b: Label) -> Bool {
        if !utf8Equal(a.name, b.name) { return utf8Less(a.name, b.name) }
        return utf8Less(a.value, b.value)
    }

    public var description: String { "\(name)=\(Label.quote(value))" }

    /// Byte equality, as Prometheus compares labels: Swift's `String ==` would
    /// treat canonically equivalent spellings ("é" and "e\u{301}") as equal.
    @inlinable public static func == (a: Label, b: Label) -> Bool {
        utf8Equal(a.name, b.name) && utf8Equal(a.value, b.value)
    }

    @inlinable public func hash(into hasher: inout Hasher) {
        hasher.combine(UTF8Key(name))
        hasher.combine(UTF8Key(value))
    }

    /// Go's `strconv.Quote`, as Prometheus prints label values.
    package static func quote(_ s: String) -> String {
        var out: [UInt8] = []
        GoText.appendQuoted(s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}

/// A series identity: labels sorted by name, names unique.
public struct Labels: Sendable, Hashable, Comparable, CustomStringConvertible {
    public private(set) var labels: [Label]

    /// Sorts `labels` by name; the caller guarantees names are unique.
    public init(_ labels: [Label]) {
        self.labels = labels.sorted()
    }

    /// Wraps labels already sorted by name with unique names.
    public init(sorted labels: [Label]) {
        self.labels = labels
    }

    public init(_ pairs: KeyValuePairs<String, String>) {
        self.init(pairs.map { Label($0.key, $0.value) })
    }

    /// The value of `name`, or nil.
    public subscript(name: String) -> String? {
        labels.first { $0.name == name }?.value
    }

    /// Prometheus's series order: label by label, shorter set first on a tie.
    @inlinable public static func < (a: Labels, b: Labels) -> Bool {
        for (x, y) in zip(a.labels, b.labels) where x != y { return x < y }
        return a.labels.count < b.labels.count
    }

    /// `{a="1", b="2"}`, as `promtool tsdb dump` prints a series.
    public var description: String {
        "{" + labels.map { "\($0.name)=\(Label.quote($0.value))" }.joined(separator: ", ") + "}"
    }
}
