import Foundation

/// A block's `meta.json` (`docs/format/blocks.md#metajson`) with the optional Thanos/Mimir
/// `thanos` section (`docs/format/blocks.md#the-thanos-section`).
///
/// Reading ignores keys it does not know and defaults every optional one, so
/// files from newer Prometheus, Thanos or Mimir versions open; re-encoding drops
/// what was not understood. `encoded()` writes the exact text Prometheus writes
/// (Go's `json.MarshalIndent(meta, "", "\t")`: tab-indented, fields in Go struct
/// order, zero-valued `omitempty` fields left out, no trailing newline).
public struct BlockMeta: Sendable, Equatable, Codable {
    public static let fileName = "meta.json"
    /// The only meta format version Prometheus reads; blocks with another are skipped.
    public static let currentVersion = 1

    public struct Stats: Sendable, Equatable, Codable {
        public var numSamples: UInt64
        public var numSeries: UInt64
        public var numChunks: UInt64
        public var numTombstones: UInt64

        public init(numSamples: UInt64 = 0, numSeries: UInt64 = 0, numChunks: UInt64 = 0, numTombstones: UInt64 = 0) {
            self.numSamples = numSamples
            self.numSeries = numSeries
            self.numChunks = numChunks
            self.numTombstones = numTombstones
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            numSamples = try c.decodeIfPresent(UInt64.self, forKey: .numSamples) ?? 0
            numSeries = try c.decodeIfPresent(UInt64.self, forKey: .numSeries) ?? 0
            numChunks = try c.decodeIfPresent(UInt64.self, forKey: .numChunks) ?? 0
            numTombstones = try c.decodeIfPresent(UInt64.self, forKey: .numTombstones) ?? 0
        }
    }

    /// A parent block of a compacted block.
    public struct BlockDescriptor: Sendable, Equatable, Codable {
        public var ulid: ULID
        public var minTime: Int64
        public var maxTime: Int64

        public init(ulid: ULID, minTime: Int64, maxTime: Int64) {
            self.ulid = ulid
            self.minTime = minTime
            self.maxTime = maxTime
        }
    }

    public struct Compaction: Sendable, Equatable, Codable {
        /// 1 for a block cut from the head; compaction adds one per round.
        public var level: Int
        /// The level-1 blocks this block's data came from; a fresh block lists itself.
        public var sources: [ULID]
        public var parents: [BlockDescriptor]
        public var deletable: Bool
        public var failed: Bool
        /// E.g. `"from-out-of-order"`.
        public var hints: [String]

        public init(
            level: Int = 1, sources: [ULID] = [], parents: [BlockDescriptor] = [],
            deletable: Bool = false, failed: Bool = false, hints: [String] = []
        ) {
            self.level = level
            self.sources = sources
            self.parents = parents
            self.deletable = deletable
            self.failed = failed
            self.hints = hints
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            level = try c.decodeIfPresent(Int.self, forKey: .level) ?? 0
            sources = try c.decodeIfPresent([ULID].self, forKey: .sources) ?? []
            parents = try c.decodeIfPresent([BlockDescriptor].self, forKey: .parents) ?? []
            deletable = try c.decodeIfPresent(Bool.self, forKey: .deletable) ?? false
            failed = try c.decodeIfPresent(Bool.self, forKey: .failed) ?? false
            hints = try c.decodeIfPresent([String].self, forKey: .hints) ?? []
        }
    }

    /// The section Thanos and Mimir add (`thanos-io/thanos pkg/block/metadata`).
    public struct Thanos: Sendable, Equatable, Codable {
        /// What a Mimir ingester ships: no external labels, raw resolution.
        public static let receiveSource = "receive"

        public struct Downsample: Sendable, Equatable, Codable {
            /// Milliseconds; 0 is raw data.
            public var resolution: Int64
            public init(resolution: Int64 = 0) { self.resolution = resolution }
        }

        public struct File: Sendable, Equatable, Codable {
            public struct Hash: Sendable, Equatable, Codable {
                public var hashFunc: String
                public var value: String
                public init(hashFunc: String, value: String) {
                    self.hashFunc = hashFunc
                    self.value = value
                }
            }

            /// Path inside the block directory, e.g. `chunks/000001`.
            public var relPath: String
            /// Omitted for `meta.json` itself.
            public var sizeBytes: Int64?
            public var hash: Hash?

            public init(relPath: String, sizeBytes: Int64? = nil, hash: Hash? = nil) {
                self.relPath = relPath
                self.sizeBytes = sizeBytes
                self.hash = hash
            }

            enum CodingKeys: String, CodingKey {
                case relPath = "rel_path", sizeBytes = "size_bytes", hash
            }
        }

        public var version: Int
        /// External labels; empty for Mimir ingester blocks.
        public var labels: [String: String]
        public var downsample: Downsample
        /// Who uploaded the block: `receive`, `compactor`, `sidecar`, ….
        public var source: String
        /// Deprecated list of names in `chunks/`, sorted.
        public var segmentFiles: [String]
        /// Every file of the block sorted by path; `BlockWriter` fills this in.
        public var files: [File]

        public init(
            version: Int = 1, labels: [String: String] = [:], downsample: Downsample = Downsample(),
            source: String = Thanos.receiveSource, segmentFiles: [String] = [], files: [File] = []
        ) {
            self.version = version
            self.labels = labels
            self.downsample = downsample
            self.source = source
            self.segmentFiles = segmentFiles
            self.files = files
        }

        enum CodingKeys: String, CodingKey {
            case version, labels, downsample, source, segmentFiles = "segment_files", files
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            version = try c.decodeIfPresent(Int.self, forKey: .version) ?? 1
            labels = try c.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
            downsample = try c.decodeIfPresent(Downsample.self, forKey: .downsample) ?? Downsample()
            source = try c.decodeIfPresent(String.self, forKey: .source) ?? ""
            segmentFiles = try c.decodeIfPresent([String].self, forKey: .segmentFiles) ?? []
            files = try c.decodeIfPresent([File].self, forKey: .files) ?? []
        }
    }

    public var ulid: ULID
    /// Inclusive lower bound of the sample timestamps (ms).
    public var minTime: Int64
    /// Exclusive upper bound: every sample has `t < maxTime`.
    public var maxTime: Int64
    public var stats: Stats
    public var compaction: Compaction
    public var version: Int
    public var thanos: Thanos?

    public init(
        ulid: ULID, minTime: Int64, maxTime: Int64, stats: Stats, compaction: Compaction,
        version: Int = BlockMeta.currentVersion, thanos: Thanos? = nil
    ) {
        self.ulid = ulid
        self.minTime = minTime
        self.maxTime = maxTime
        self.stats = stats
        self.compaction = compaction
        self.version = version
        self.thanos = thanos
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        ulid = try c.decode(ULID.self, forKey: .ulid)
        minTime = try c.decode(Int64.self, forKey: .minTime)
        maxTime = try c.decode(Int64.self, forKey: .maxTime)
        stats = try c.decodeIfPresent(Stats.self, forKey: .stats) ?? Stats()
        compaction = try c.decodeIfPresent(Compaction.self, forKey: .compaction) ?? Compaction(level: 0)
        version = try c.decode(Int.self, forKey: .version)
        thanos = try c.decodeIfPresent(Thanos.self, forKey: .thanos)
    }

    // MARK: Reading

    /// Parses meta.json bytes. Throws when the JSON is malformed, a required key
    /// (`ulid`, `minTime`, `maxTime`, `version`) is missing or mistyped, or the
    /// version is not 1. `file` only names the source in errors.
    public static func decode(_ bytes: [UInt8], file: String) throws(FormatError) -> BlockMeta {
        let meta: BlockMeta
        do {
            meta = try JSONDecoder().decode(BlockMeta.self, from: Data(bytes))
        } catch {
            throw FormatError(file: file, offset: 0, reason: "invalid meta.json: \(describe(error))")
        }
        guard meta.version == currentVersion else {
            throw FormatError(file: file, offset: 0, reason: "unsupported meta.json version \(meta.version), want \(currentVersion)")
        }
        return meta
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let c):
            return "\(c.debugDescription) at \(path(c.codingPath))"
        case DecodingError.keyNotFound(let key, let c):
            return "missing key \"\(key.stringValue)\" at \(path(c.codingPath))"
        case DecodingError.typeMismatch(let type, let c), DecodingError.valueNotFound(let type, let c):
            return "expected \(type) at \(path(c.codingPath))"
        default:
            return "\(error)"
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.isEmpty ? "top level" : keys.map(\.stringValue).joined(separator: ".")
    }

    // MARK: Writing

    /// The file text as Prometheus (and, with `thanos`, Mimir's shipper) writes it.
    public func encoded() -> [UInt8] {
        var out = ""
        json.write(into: &out, indent: 0)
        return Array(out.utf8)
    }

    private var json: GoJSON {
        var statsFields: [(String, GoJSON)] = []
        for (key, value) in [
            ("numSamples", stats.numSamples), ("numSeries", stats.numSeries),
            ("numChunks", stats.numChunks), ("numTombstones", stats.numTombstones)
        ] where value != 0 {
            statsFields.append((key, .unsigned(value)))
        }
        var compactionFields: [(String, GoJSON)] = [("level", .integer(Int64(compaction.level)))]
        if !compaction.sources.isEmpty {
            compactionFields.append(("sources", .array(compaction.sources.map { .string($0.description) })))
        }
        if compaction.deletable { compactionFields.append(("deletable", .bool(true))) }
        if !compaction.parents.isEmpty {
            compactionFields.append(
                (
                    "parents",
                    .array(
                        compaction.parents.map {
                            .object([
                                ("ulid", .string($0.ulid.description)), ("minTime", .integer($0.minTime)),
                                ("maxTime", .integer($0.maxTime))
                            ])
                        })
                ))
        }
        if compaction.failed { compactionFields.append(("failed", .bool(true))) }
        if !compaction.hints.isEmpty { compactionFields.append(("hints", .array(compaction.hints.map { .string($0) }))) }

        var fields: [(String, GoJSON)] = [
            ("ulid", .string(ulid.description)),
            ("minTime", .integer(minTime)),
            ("maxTime", .integer(maxTime)),
            ("stats", .object(statsFields)),
            ("compaction", .object(compactionFields)),
            ("version", .integer(Int64(version)))
        ]
        if let thanos { fields.append(("thanos", thanos.json)) }
        return .object(fields)
    }
}

extension BlockMeta.Thanos {
    fileprivate var json: GoJSON {
        var fields: [(String, GoJSON)] = []
        if version != 0 { fields.append(("version", .integer(Int64(version)))) }
        // Go marshals map keys sorted byte-wise.
        let sortedLabels = labels.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        fields.append(("labels", .object(sortedLabels.map { ($0.key, .string($0.value)) })))
        fields.append(("downsample", .object([("resolution", .integer(downsample.resolution))])))
        fields.append(("source", .string(source)))
        if !segmentFiles.isEmpty { fields.append(("segment_files", .array(segmentFiles.map { .string($0) }))) }
        if !files.isEmpty {
            fields.append(
                (
                    "files",
                    .array(
                        files.map { file in
                            var f: [(String, GoJSON)] = [("rel_path", .string(file.relPath))]
                            if let size = file.sizeBytes, size != 0 { f.append(("size_bytes", .integer(size))) }
                            if let hash = file.hash {
                                f.append(("hash", .object([("hashFunc", .string(hash.hashFunc)), ("value", .string(hash.value))])))
                            }
                            return .object(f)
                        })
                ))
        }
        return .object(fields)
    }
}

/// JSON text exactly as Go's encoding/json writes it with a tab indent.
private indirect enum GoJSON {
    case object([(String, GoJSON)])
    case array([GoJSON])
    case string(String)
    case integer(Int64)
    case unsigned(UInt64)
    case bool(Bool)

    func write(into out: inout String, indent: Int) {
        switch self {
        case .object(let fields):
            guard !fields.isEmpty else { out += "{}"; return }
            out += "{\n"
            for (i, (key, value)) in fields.enumerated() {
                out += String(repeating: "\t", count: indent + 1)
                GoJSON.quote(key, into: &out)
                out += ": "
                value.write(into: &out, indent: indent + 1)
                out += i == fields.count - 1 ? "\n" : ",\n"
            }
            out += String(repeating: "\t", count: indent) + "}"
        case .array(let items):
            guard !items.isEmpty else { out += "[]"; return }
            out += "[\n"
            for (i, item) in items.enumerated() {
                out += String(repeating: "\t", count: indent + 1)
                item.write(into: &out, indent: indent + 1)
                out += i == items.count - 1 ? "\n" : ",\n"
            }
            out += String(repeating: "\t", count: indent) + "]"
        case .string(let s): GoJSON.quote(s, into: &out)
        case .integer(let v): out += String(v)
        case .unsigned(let v): out += String(v)
        case .bool(let v): out += v ? "true" : "false"
        }
    }

    /// Go's escaping: `"`, `\`, control characters, and the HTML-sensitive `<`, `>`, `&`
    /// plus U+2028/U+2029 become escapes.
    static func quote(_ s: String, into out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<", ">", "&", "\u{2028}", "\u{2029}", "\u{00}"..."\u{1F}":
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(u)
            }
        }
        out += "\""
    }
}
