/// Interned label strings: each distinct name or value is stored once and
/// referred to by a 32-bit id. Not thread-safe; the head's lock guards it.
struct SymbolTable {
    private(set) var strings: [String] = []
    /// Keyed by UTF-8 bytes: distinct byte strings are distinct symbols even
    /// when Unicode calls them equivalent.
    private var ids: [UTF8Key: UInt32] = [:]

    mutating func intern(_ s: String) -> UInt32 {
        if let id = ids[UTF8Key(s)] { return id }
        let id = UInt32(strings.count)
        strings.append(s)
        ids[UTF8Key(s)] = id
        return id
    }

    func id(_ s: String) -> UInt32? { ids[UTF8Key(s)] }

    subscript(id: UInt32) -> String { strings[Int(id)] }

    var count: Int { strings.count }
}
