import Foundation
import TestSupport
import Testing

@testable import Cluster

/// The gossip codec against docs/format/gossip.md: every message kind round
/// trips, and every way a message can be wrong is an error at the right byte.
/// Checks that sit behind the CRC get messages with a recomputed, valid CRC.
@Suite struct GossipCodecTests {
    typealias Writer = GossipCodec.Writer
    static let header = GossipCodec.headerSize

    // MARK: Samples (also the fuzz seeds)

    static let maxTokens: [UInt32] = {
        // 4096 tokens from 0 to UInt32.max: gaps of every varint width.
        var tokens = (0..<4095).map { UInt32($0) * 1_048_833 }
        tokens.append(UInt32.max)
        return tokens
    }()

    static let fullRing = RingDesc(
        instances: [
            "ingester-1": InstanceDesc(
                id: "ingester-1", addr: "10.0.0.1:8080", zone: "zone-a", state: .active, tokens: [0, 5, 1 << 20, UInt32.max],
                generation: 1_764_000_000_000, timestamp: 1_764_000_100_000, registeredTimestamp: 1_764_000_000_000),
            "ingester-2": InstanceDesc(
                id: "ingester-2", addr: "", state: .joining, generation: 7, timestamp: -1, readOnly: true,
                readOnlyUpdatedTimestamp: Int64.min),
            "ingester-ä": InstanceDesc(
                id: "ingester-ä", addr: "[::1]:80", zone: "zöne", state: .leaving, tokens: [42], generation: UInt64.max,
                timestamp: Int64.max, registeredTimestamp: Int64.min),
            "pending": InstanceDesc(id: "pending", addr: "h:1", state: .pending, generation: 0, timestamp: 0),
            "gone": InstanceDesc(id: "gone", addr: "h:2", state: .left, generation: 3, timestamp: 99)
        ],
        graves: [
            "old": RingDesc.Grave(generation: 2, buriedAt: 1_764_000_000_000),
            "": RingDesc.Grave(generation: 0, buriedAt: -5),
            "gone": RingDesc.Grave(generation: 2, buriedAt: 1)
        ])

    static let maxSizeRing = RingDesc([
        InstanceDesc(
            id: String(repeating: "n", count: GossipCodec.maxNameBytes),
            addr: String(repeating: "a", count: GossipCodec.maxAddressBytes),
            zone: String(repeating: "ü", count: GossipCodec.maxZoneBytes / 2) + "z", state: .active, tokens: maxTokens,
            generation: UInt64.max, timestamp: Int64.min, registeredTimestamp: Int64.max, readOnly: true,
            readOnlyUpdatedTimestamp: -1)
    ])

    static let peers = [
        GossipMessage.Peer(name: "ingester-1", address: "10.0.0.1:7946"),
        GossipMessage.Peer(name: "", address: ""),
        GossipMessage.Peer(name: String(repeating: "p", count: GossipCodec.maxNameBytes), address: "[fe80::1%eth0]:7946")
    ]

    /// One message per kind, named as the fuzz seed files are.
    static let samples: [(name: String, message: GossipMessage)] = [
        (
            "delta",
            GossipMessage(
                kind: .delta, sender: .init(name: "ingester-1", address: "10.0.0.1:7946"), sequence: 17,
                ring: RingDesc(
                    instances: ["gone": fullRing.instances["gone"]!, "ingester-1": fullRing.instances["ingester-1"]!],
                    graves: ["old": fullRing.graves["old"]!]))
        ),
        ("push_pull", GossipMessage(kind: .pushPull, sender: .init(name: "ingester-2", address: "h:7946"), ring: fullRing, peers: peers)),
        (
            "push_pull_reply_max",
            GossipMessage(
                kind: .pushPullReply, sender: .init(name: String(repeating: "s", count: 253), address: String(repeating: "x", count: 255)),
                sequence: UInt64.max, ring: maxSizeRing, peers: peers)
        ),
        ("ack", GossipMessage(kind: .ack, sender: .init(name: "ingester-3", address: "h:3"), sequence: 1 << 35)),
        ("goodbye", GossipMessage(kind: .goodbye, sender: .init(name: "", address: "")))
    ]

    @Test func everyKindRoundTrips() throws {
        #expect(Set(Self.samples.map(\.message.kind)) == Set(GossipMessage.Kind.allCases))
        for (name, message) in Self.samples {
            let bytes = GossipCodec.encode(message)
            #expect(bytes[1] == message.kind.rawValue)
            let back = try GossipCodec.decode(bytes)
            #expect(back == message, "\(name)")
            // Byte-identical, so that equal states gossip as equal messages.
            #expect(GossipCodec.encode(back) == bytes, "\(name)")
        }
    }

    @Test func theLimitsAreTheSizesThatStillDecode() throws {
        let message = Self.samples[2].message
        let entry = message.ring.instances.values.first!
        #expect(entry.id.utf8.count == GossipCodec.maxNameBytes)
        #expect(entry.addr.utf8.count == GossipCodec.maxAddressBytes)
        #expect(entry.zone.utf8.count == GossipCodec.maxZoneBytes)
        #expect(entry.tokens.count == GossipCodec.maxTokensPerInstance)
        #expect(try GossipCodec.decode(GossipCodec.encode(message)) == message)
    }

    /// Tests/Fuzz/seeds/fuzz_gossip/ holds the samples' encodings; run with
    /// MUNINN_WRITE_GOSSIP_SEEDS=1 to rewrite them after a format change.
    @Test func fuzzSeedsAreTheEncodedSamples() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../Fuzz/seeds/fuzz_gossip")
        let write = ProcessInfo.processInfo.environment["MUNINN_WRITE_GOSSIP_SEEDS"] == "1"
        if write { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }
        for (name, message) in Self.samples {
            let file = dir.appendingPathComponent(name)
            let bytes = GossipCodec.encode(message)
            if write { try Data(bytes).write(to: file) }
            #expect(try [UInt8](Data(contentsOf: file)) == bytes, "seed \(name) is stale")
        }
    }

    /// The worked example of docs/format/gossip.md, byte for byte.
    @Test func documentedExample() throws {
        let message = GossipMessage(
            kind: .delta, sender: .init(name: "a", address: "h:1"), sequence: 300,
            ring: RingDesc(
                instances: [
                    "b": InstanceDesc(
                        id: "b", addr: "h:2", zone: "z", state: .active, tokens: [5, 300], generation: 2, timestamp: -1,
                        registeredTimestamp: 1)
                ],
                graves: ["c": RingDesc.Grave(generation: 1, buriedAt: 64)]))
        let bytes = GossipCodec.encode(message)
        let body = hex(
            """
            01 61  03 68 3a 31  ac 02
            01  01 62  03 68 3a 32  01 7a  00  00  02  ff ff ff ff ff ff ff ff ff 01  01  00  02  05 a7 02
            01  01 63  01  40
            00
            """)
        #expect(Array(bytes[..<6]) == [0x01, 0x01, 0x00, 0x00, 0x00, UInt8(body.count)])
        #expect(Array(bytes[6..<(6 + body.count)]) == body)
        #expect(Array(bytes[(6 + body.count)...]) == hex("0a 7f 02 97"))
        #expect(try GossipCodec.decode(bytes) == message)
    }

    // MARK: Corruption

    /// A message around `body` with a correct length field and CRC.
    static func framed(_ body: [UInt8], kind: UInt8 = 1, version: UInt8 = 1) -> [UInt8] {
        var out: [UInt8] = [version, kind]
        GossipCodec.appendBigEndian(UInt32(body.count), to: &out)
        out += body
        GossipCodec.appendBigEndian(GossipCodec.crc(out), to: &out)
        return out
    }

    /// `message` with its CRC recomputed after an edit.
    static func resealed(_ message: [UInt8]) -> [UInt8] {
        var out = Array(message.dropLast(4))
        GossipCodec.appendBigEndian(GossipCodec.crc(out), to: &out)
        return out
    }

    static func decodeError(_ bytes: [UInt8]) -> GossipCodec.DecodeError? {
        do {
            _ = try GossipCodec.decode(bytes)
            return nil
        } catch {
            return error
        }
    }

    func expectError(
        _ bytes: [UInt8], at offset: Int, _ reason: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard let error = Self.decodeError(bytes) else {
            Issue.record("decoded, expected '\(reason)' at \(offset)", sourceLocation: sourceLocation)
            return
        }
        #expect(error.offset == offset, "\(error)", sourceLocation: sourceLocation)
        #expect(error.reason.contains(reason), "\(error)", sourceLocation: sourceLocation)
    }

    /// The body up to the entry count: sender "n" at "h:1", sequence 0.
    static func bodyStart() -> Writer {
        var w = Writer()
        w.string("n")
        w.string("h:1")
        w.varint(0)
        return w
    }

    /// Offset in the message of the next byte `w` writes.
    static func at(_ w: Writer) -> Int { header + w.bytes.count }

    /// Writes an entry field by field; `tokens` are the raw gaps.
    static func entry(
        _ w: inout Writer, id: String = "a", state: UInt8 = 0, flag: UInt8 = 0, generation: UInt64 = 1, gaps: [UInt64] = [1]
    ) {
        w.string(id)
        w.string("h:2")
        w.string("")
        w.bytes += [state, flag]
        w.varint(generation)
        w.varint(10)
        w.varint(0)
        w.varint(0)
        w.varint(UInt64(gaps.count))
        for gap in gaps { w.varint(gap) }
    }

    @Test func everyTruncationIsAnError() {
        for (name, message) in Self.samples where name != "push_pull_reply_max" {
            let bytes = GossipCodec.encode(message)
            for n in 0..<bytes.count {
                if n < Self.header + 4 {
                    expectError(Array(bytes[..<n]), at: n, "truncated header")
                } else {
                    expectError(Array(bytes[..<n]), at: 2, "does not match message size")
                }
            }
            // A body cut short but framed with a valid length and CRC: the
            // body decoder itself notices, within the bytes it was given.
            let body = Array(bytes[Self.header..<(bytes.count - 4)])
            for n in 0..<body.count {
                let error = Self.decodeError(Self.framed(Array(body[..<n]), kind: message.kind.rawValue))
                #expect(error != nil, "\(name) body cut at \(n) decoded")
                if let error { #expect(error.offset >= Self.header && error.offset <= Self.header + n, "\(name) cut at \(n): \(error)") }
            }
        }
    }

    @Test func everySingleBitFlipIsCaught() {
        let bytes = GossipCodec.encode(Self.samples[1].message)
        let crcOffset = bytes.count - 4
        for i in 0..<bytes.count {
            for bit in 0..<8 {
                var bad = bytes
                bad[i] ^= 1 << bit
                switch i {
                case 0: expectError(bad, at: 0, "unsupported version")
                case 1 where GossipMessage.Kind(rawValue: bad[1]) == nil: expectError(bad, at: 1, "unknown kind")
                case 2..<6: expectError(bad, at: 2, "does not match message size")
                default: expectError(bad, at: crcOffset, "checksum mismatch")
                }
            }
        }
    }

    @Test func badVersionAndUnknownKind() {
        let body = GossipCodec.encode(Self.samples[3].message).dropFirst(Self.header).dropLast(4)
        for version: UInt8 in [0, 2, 255] { expectError(Self.framed(Array(body), version: version), at: 0, "unsupported version \(version)") }
        for kind: UInt8 in [0, 6, 255] { expectError(Self.framed(Array(body), kind: kind), at: 1, "unknown kind \(kind)") }
    }

    @Test func lengthFieldMustMatchTheMessage() {
        let bytes = GossipCodec.encode(Self.samples[0].message)
        for delta in [-1, 1, 1 << 20] {
            var bad = bytes
            bad.replaceSubrange(2..<6, with: [])
            var length = [UInt8]()
            GossipCodec.appendBigEndian(UInt32(bytes.count - Self.header - 4 + delta), to: &length)
            bad.insert(contentsOf: length, at: 2)
            expectError(Self.resealed(bad), at: 2, "does not match message size")
        }
        expectError(Self.framed([]) + [0], at: 2, "does not match message size")
    }

    @Test func varints() {
        func withSequence(_ raw: [UInt8]) -> [UInt8] {
            var w = Writer()
            w.string("n")
            w.string("h:1")
            w.bytes += raw
            w.bytes += [0, 0, 0]
            return Self.framed(w.bytes)
        }
        let sequenceAt = Self.header + 6
        // 2^64 - 1 is the largest: ten bytes, the last one 1.
        let max: [UInt8] = Array(repeating: 0xff, count: 9) + [0x01]
        #expect((try? GossipCodec.decode(withSequence(max)))?.sequence == UInt64.max)
        expectError(withSequence(Array(repeating: 0xff, count: 9) + [0x02]), at: sequenceAt, "varint overflows 64 bits")
        expectError(withSequence(Array(repeating: 0xff, count: 11) + [0x00]), at: sequenceAt, "varint overflows 64 bits")
        expectError(withSequence(Array(repeating: 0x80, count: 9) + [0x7f]), at: sequenceAt, "varint overflows 64 bits")
        // A varint whose last byte still says "more".
        var w = Writer()
        w.string("n")
        w.string("h:1")
        w.bytes += [0x80]
        expectError(Self.framed(w.bytes), at: Self.header + w.bytes.count, "truncated body")
    }

    @Test func countsLargerThanTheMessageOrTheLimits() {
        // Entry, grave and peer counts that the remaining bytes cannot hold.
        for position in 0..<3 {
            var w = Self.bodyStart()
            for _ in 0..<position { w.varint(0) }
            let countAt = Self.at(w)
            w.varint(1000)
            w.bytes += Array(repeating: 0, count: 10)
            expectError(Self.framed(w.bytes), at: countAt, "count 1000 exceeds")
        }
        // A string longer than the body.
        var w = Writer()
        w.string("n")
        w.varint(UInt64.max)
        expectError(Self.framed(w.bytes), at: Self.header + 2, "exceeds the limit or the message")
        // Strings and token lists one over their limits, with the bytes present.
        let cases: [(String, (inout Writer) -> Int)] = [
            (
                "sender name",
                { w in
                    w.string(String(repeating: "n", count: GossipCodec.maxNameBytes + 1))
                    return Self.header
                }
            ),
            (
                "sender address",
                { w in
                    w.string("n")
                    w.string(String(repeating: "a", count: GossipCodec.maxAddressBytes + 1))
                    return Self.header + 2
                }
            ),
            (
                "zone",
                { w in
                    w = Self.bodyStart()
                    w.varint(1)
                    w.string("a")
                    w.string("h:2")
                    let at = Self.at(w)
                    w.string(String(repeating: "z", count: GossipCodec.maxZoneBytes + 1))
                    return at
                }
            ),
            (
                "tokens",
                { w in
                    w = Self.bodyStart()
                    w.varint(1)
                    w.string("a")
                    w.string("h:2")
                    w.string("")
                    w.bytes += [0, 0]
                    for _ in 0..<4 { w.varint(1) }
                    let at = Self.at(w)
                    w.varint(UInt64(GossipCodec.maxTokensPerInstance + 1))
                    for _ in 0...GossipCodec.maxTokensPerInstance { w.varint(1) }
                    return at
                }
            )
        ]
        for (what, build) in cases {
            var w = Writer()
            let at = build(&w)
            w.bytes += Array(repeating: 0, count: 8)
            guard let error = Self.decodeError(Self.framed(w.bytes)) else {
                Issue.record("\(what) over the limit decoded")
                continue
            }
            #expect(error.offset == at && error.reason.contains("exceeds the limit"), "\(what): \(error)")
        }
    }

    @Test func duplicateInstancesAndGraves() {
        var w = Self.bodyStart()
        w.varint(2)
        Self.entry(&w, id: "a")
        let secondAt = Self.at(w)
        Self.entry(&w, id: "a", generation: 2)
        w.bytes += [0, 0]
        expectError(Self.framed(w.bytes), at: secondAt, "instance a appears twice")

        w = Self.bodyStart()
        w.varint(0)
        w.varint(2)
        w.string("g")
        w.bytes += [1, 1]
        let graveAt = Self.at(w)
        w.string("g")
        w.bytes += [2, 2]
        w.varint(0)
        expectError(Self.framed(w.bytes), at: graveAt, "grave g appears twice")
    }

    @Test func aGraveMayNotBuryAnEntryOfItsOwnMessage() {
        for (entryGeneration, graveGeneration) in [(UInt64(3), UInt64(3)), (3, 4), (0, 0)] {
            var w = Self.bodyStart()
            w.varint(1)
            Self.entry(&w, id: "a", generation: entryGeneration)
            w.varint(1)
            let graveAt = Self.at(w)
            w.string("a")
            w.varint(graveGeneration)
            w.varint(0)
            w.varint(0)
            expectError(Self.framed(w.bytes), at: graveAt, "grave a buries the entry sent with it")
        }
        // A grave below the entry is a removal the entry outlived: fine.
        var w = Self.bodyStart()
        w.varint(1)
        Self.entry(&w, id: "a", generation: 4)
        w.varint(1)
        w.string("a")
        w.varint(3)
        w.varint(0)
        w.varint(0)
        #expect(Self.decodeError(Self.framed(w.bytes)) == nil)
    }

    @Test func tokensMustBeStrictlyIncreasing32BitValues() {
        // (gaps, index of the bad gap); a first token of 0 is fine.
        let cases: [([UInt64], Int?)] = [
            ([0, 1, 1], nil), ([0], nil), ([UInt64(UInt32.max)], nil), ([5, 0], 1), ([0, 0], 1), ([1, 2, 0, 3], 2),
            ([UInt64(UInt32.max), 1], 1), ([UInt64(UInt32.max) + 1], 0), ([1, UInt64.max], 1)
        ]
        for (gaps, bad) in cases {
            var w = Self.bodyStart()
            w.varint(1)
            var e = Writer()
            Self.entry(&e, gaps: [])
            w.bytes += e.bytes.dropLast()
            w.varint(UInt64(gaps.count))
            var gapAt = [Int]()
            for gap in gaps {
                gapAt.append(Self.at(w))
                w.varint(gap)
            }
            w.bytes += [0, 0]
            if let bad {
                expectError(Self.framed(w.bytes), at: gapAt[bad], "tokens not strictly increasing")
            } else {
                #expect(Self.decodeError(Self.framed(w.bytes)) == nil, "\(gaps)")
            }
        }
    }

    @Test func stringsMustBeUTF8() {
        let invalid: [[UInt8]] = [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0x61, 0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80]]
        for bytes in invalid {
            // As the sender's address, an instance's id and a peer's name.
            var w = Writer()
            w.string("n")
            let addressAt = Self.at(w)
            w.varint(UInt64(bytes.count))
            w.bytes += bytes
            w.bytes += [0, 0, 0, 0]
            expectError(Self.framed(w.bytes), at: addressAt, "string is not UTF-8")

            w = Self.bodyStart()
            w.varint(1)
            let idAt = Self.at(w)
            w.varint(UInt64(bytes.count))
            w.bytes += bytes
            var rest = Writer()
            Self.entry(&rest)
            w.bytes += rest.bytes.dropFirst(2)
            w.bytes += [0, 0]
            expectError(Self.framed(w.bytes), at: idAt, "string is not UTF-8")

            w = Self.bodyStart()
            w.bytes += [0, 0, 1]
            let peerAt = Self.at(w)
            w.varint(UInt64(bytes.count))
            w.bytes += bytes
            w.string("h:9")
            expectError(Self.framed(w.bytes), at: peerAt, "string is not UTF-8")
        }
    }

    @Test func entryFieldsOutsideTheirRanges() {
        func oneEntry(_ build: (inout Writer) -> Void) -> [UInt8] {
            var w = Self.bodyStart()
            w.varint(1)
            build(&w)
            w.bytes += [0, 0]
            return Self.framed(w.bytes)
        }
        let fieldsAt = Self.header + 8 + 2 + 4 + 1  // sender, sequence, count; "a", "h:2", ""
        for flag: UInt8 in [2, 0x80, 255] {
            expectError(oneEntry { Self.entry(&$0, flag: flag) }, at: fieldsAt + 1, "read-only flag is \(flag)")
        }
        for state: UInt8 in [5, 255] { expectError(oneEntry { Self.entry(&$0, state: state) }, at: fieldsAt, "unknown instance state") }
        expectError(oneEntry { Self.entry(&$0, id: "") }, at: Self.header + 8, "empty instance id")
        #expect(Self.decodeError(oneEntry { Self.entry(&$0, state: 4, flag: 1) }) == nil)
    }

    @Test func trailingBytes() {
        var body = Array(GossipCodec.encode(Self.samples[0].message).dropFirst(Self.header).dropLast(4))
        let end = Self.header + body.count
        body.append(0)
        expectError(Self.framed(body), at: end, "trailing bytes in body")
    }
}
