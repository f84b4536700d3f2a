import CStorage

/// Encodes and decodes `GossipMessage`s (layout: docs/format/gossip.md).
///
/// A message is `version u8 | kind u8 | body length u32 BE | body | CRC32C u32
/// BE` (the CRC covers everything before it). The decoder is bounds-checked
/// at every read and fuzzed (`scripts/fuzz.sh`, target fuzz_gossip); a bad
/// message is an error naming the byte offset, never a trap.
package enum GossipCodec {
    package static let version: UInt8 = 1
    static let headerSize = 6
    /// Limits on what a decoder accepts from a peer.
    package static let maxNameBytes = 253
    package static let maxAddressBytes = 255
    package static let maxZoneBytes = 63
    package static let maxTokensPerInstance = 4096
    package static let maxEntries = 100_000

    package struct DecodeError: Error, Equatable, Sendable, CustomStringConvertible {
        package let offset: Int
        package let reason: String
        package var description: String { "gossip message: \(reason) at byte \(offset)" }
    }

    package static func encode(_ message: GossipMessage) -> [UInt8] {
        var body = Writer()
        body.string(message.sender.name)
        body.string(message.sender.address)
        body.varint(message.sequence)
        body.varint(UInt64(message.ring.instances.count))
        for entry in message.ring.instances.values.sorted(by: { $0.id < $1.id }) { body.entry(entry) }
        body.varint(UInt64(message.ring.graves.count))
        for (id, grave) in message.ring.graves.sorted(by: { $0.key < $1.key }) {
            body.string(id)
            body.varint(grave.generation)
            body.varint(UInt64(bitPattern: grave.buriedAt))
        }
        body.varint(UInt64(message.peers.count))
        for peer in message.peers {
            body.string(peer.name)
            body.string(peer.address)
        }
        var out = [UInt8]()
        out.reserveCapacity(headerSize + body.bytes.count + 4)
        out.append(version)
        out.append(message.kind.rawValue)
        appendBigEndian(UInt32(truncatingIfNeeded: body.bytes.count), to: &out)
        out.append(contentsOf: body.bytes)
        appendBigEndian(crc(out), to: &out)
        return out
    }

    package static func decode(_ bytes: [UInt8]) throws(DecodeError) -> GossipMessage {
        try bytes.withUnsafeBufferPointer { (buffer) throws(DecodeError) -> GossipMessage in try decode(buffer) }
    }

    package static func decode(_ bytes: UnsafeBufferPointer<UInt8>) throws(DecodeError) -> GossipMessage {
        guard bytes.count >= headerSize + 4 else { throw DecodeError(offset: bytes.count, reason: "truncated header") }
        guard bytes[0] == version else { throw DecodeError(offset: 0, reason: "unsupported version \(bytes[0])") }
        guard let kind = GossipMessage.Kind(rawValue: bytes[1]) else { throw DecodeError(offset: 1, reason: "unknown kind \(bytes[1])") }
        let bodyLength = Int(readBigEndian(bytes, at: 2))
        guard bodyLength == bytes.count - headerSize - 4 else {
            throw DecodeError(offset: 2, reason: "body length \(bodyLength) does not match message size \(bytes.count)")
        }
        let crcOffset = headerSize + bodyLength
        let stored = readBigEndian(bytes, at: crcOffset)
        let computed = cs_crc32c(0, bytes.baseAddress, crcOffset)
        guard stored == computed else { throw DecodeError(offset: crcOffset, reason: "checksum mismatch") }
        var reader = Reader(bytes: UnsafeBufferPointer(rebasing: bytes[..<crcOffset]), offset: headerSize)
        let sender = GossipMessage.Peer(
            name: try reader.string(max: maxNameBytes), address: try reader.string(max: maxAddressBytes))
        let sequence = try reader.varint()
        var ring = RingDesc()
        let entries = try reader.count(max: maxEntries)
        for _ in 0..<entries {
            let at = reader.offset
            let entry = try reader.entry()
            guard ring.instances.updateValue(entry, forKey: entry.id) == nil else {
                throw DecodeError(offset: at, reason: "instance \(entry.id) appears twice")
            }
        }
        let graves = try reader.count(max: maxEntries)
        for _ in 0..<graves {
            let at = reader.offset
            let id = try reader.string(max: maxNameBytes)
            let grave = RingDesc.Grave(generation: try reader.varint(), buriedAt: Int64(bitPattern: try reader.varint()))
            guard ring.graves.updateValue(grave, forKey: id) == nil else {
                throw DecodeError(offset: at, reason: "grave \(id) appears twice")
            }
            // A sender's own merge never keeps an entry its grave buries; a
            // ring that does is not a state merge is defined on (merging into
            // it would not commute), so it is refused at the door.
            if let entry = ring.instances[id], entry.generation <= grave.generation {
                throw DecodeError(offset: at, reason: "grave \(id) buries the entry sent with it")
            }
        }
        let peerCount = try reader.count(max: maxEntries)
        var peers = [GossipMessage.Peer]()
        peers.reserveCapacity(peerCount)
        for _ in 0..<peerCount {
            peers.append(.init(name: try reader.string(max: maxNameBytes), address: try reader.string(max: maxAddressBytes)))
        }
        guard reader.offset == crcOffset else { throw DecodeError(offset: reader.offset, reason: "trailing bytes in body") }
        return GossipMessage(kind: kind, sender: sender, sequence: sequence, ring: ring, peers: peers)
    }

    static func crc(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { cs_crc32c(0, $0.baseAddress, $0.count) }
    }

    static func appendBigEndian(_ value: UInt32, to out: inout [UInt8]) {
        out.append(UInt8(truncatingIfNeeded: value >> 24))
        out.append(UInt8(truncatingIfNeeded: value >> 16))
        out.append(UInt8(truncatingIfNeeded: value >> 8))
        out.append(UInt8(truncatingIfNeeded: value))
    }

    /// Reads 4 bytes at `offset`; the caller checked the bounds.
    static func readBigEndian(_ bytes: UnsafeBufferPointer<UInt8>, at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }

    struct Writer {
        var bytes: [UInt8] = []

        mutating func varint(_ value: UInt64) {
            var v = value
            while v >= 0x80 {
                bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
                v >>= 7
            }
            bytes.append(UInt8(v))
        }

        mutating func string(_ s: String) {
            let utf8 = Array(s.utf8)
            varint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }

        /// Tokens are sorted, so they go as the first value and then gaps.
        mutating func entry(_ e: InstanceDesc) {
            string(e.id)
            string(e.addr)
            string(e.zone)
            bytes.append(e.state.rawValue)
            bytes.append(e.readOnly ? 1 : 0)
            varint(e.generation)
            varint(UInt64(bitPattern: e.timestamp))
            varint(UInt64(bitPattern: e.registeredTimestamp))
            varint(UInt64(bitPattern: e.readOnlyUpdatedTimestamp))
            varint(UInt64(e.tokens.count))
            var previous: UInt32 = 0
            for token in e.tokens {
                varint(UInt64(token &- previous))
                previous = token
            }
        }
    }

    struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var offset: Int

        mutating func byte() throws(DecodeError) -> UInt8 {
            guard offset < bytes.count else { throw DecodeError(offset: offset, reason: "truncated body") }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func varint() throws(DecodeError) -> UInt64 {
            let start = offset
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                let b = try byte()
                if shift == 63, b > 1 { throw DecodeError(offset: start, reason: "varint overflows 64 bits") }
                value |= UInt64(b & 0x7f) << shift
                // The 10th byte (shift 63) is at most 1, so it always ends here.
                if b < 0x80 { return value }
                shift += 7
            }
        }

        mutating func count(max: Int) throws(DecodeError) -> Int {
            let at = offset
            let n = try varint()
            // Every counted item takes at least one byte: a count above the
            // bytes left is a lie, whatever the limit.
            guard n <= UInt64(max), n <= UInt64(bytes.count - offset) else {
                throw DecodeError(offset: at, reason: "count \(n) exceeds the limit or the message")
            }
            return Int(n)
        }

        mutating func string(max: Int) throws(DecodeError) -> String {
            let at = offset
            let n = try count(max: max)
            let slice = UnsafeBufferPointer(rebasing: bytes[offset..<(offset + n)])
            guard let s = String(validating: slice, as: UTF8.self) else { throw DecodeError(offset: at, reason: "string is not UTF-8") }
            offset += n
            return s
        }

        mutating func entry() throws(DecodeError) -> InstanceDesc {
            let idAt = offset
            let id = try string(max: GossipCodec.maxNameBytes)
            guard !id.isEmpty else { throw DecodeError(offset: idAt, reason: "empty instance id") }
            let addr = try string(max: GossipCodec.maxAddressBytes)
            let zone = try string(max: GossipCodec.maxZoneBytes)
            let stateAt = offset
            guard let state = InstanceState(rawValue: try byte()) else { throw DecodeError(offset: stateAt, reason: "unknown instance state") }
            let flagAt = offset
            let flag = try byte()
            guard flag <= 1 else { throw DecodeError(offset: flagAt, reason: "read-only flag is \(flag)") }
            let generation = try varint()
            let timestamp = Int64(bitPattern: try varint())
            let registered = Int64(bitPattern: try varint())
            let readOnlyUpdated = Int64(bitPattern: try varint())
            let tokenCount = try count(max: GossipCodec.maxTokensPerInstance)
            var tokens = [UInt32]()
            tokens.reserveCapacity(tokenCount)
            var previous: UInt64 = 0
            for i in 0..<tokenCount {
                let at = offset
                let gap = try varint()
                let (value, overflow) = previous.addingReportingOverflow(gap)
                guard !overflow, value <= UInt64(UInt32.max), i == 0 || gap > 0 else {
                    throw DecodeError(offset: at, reason: "tokens not strictly increasing 32-bit values")
                }
                tokens.append(UInt32(value))
                previous = value
            }
            return InstanceDesc(
                id: id, addr: addr, zone: zone, state: state, tokens: tokens, generation: generation, timestamp: timestamp,
                registeredTimestamp: registered, readOnly: flag == 1, readOnlyUpdatedTimestamp: readOnlyUpdated)
        }
    }
}
