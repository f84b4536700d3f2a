// libFuzzer target for the gossip codec and the ring merge. scripts/fuzz.sh
// compiles it together with Sources/Cluster/Model/*.swift (one module), so it
// reaches the codec without SwiftPM. Every invariant failure is a
// fatalError, which the fuzzer reports as a crash with the input.

/// A ring the decoded ring is merged with, sharing ids with the seeds
/// (Tests/Fuzz/seeds/fuzz_gossip) so that merges meet at every step of the
/// merge order: same generation, newer heartbeat (ingester-1); a live entry
/// against the seed's tombstone (gone); an entry under the seed's grave (old);
/// a tombstone against the seed's live entry (pending); a grave of its own.
private let fixedRing: RingDesc = {
    var ring = RingDesc([
        InstanceDesc(
            id: "ingester-1", addr: "10.0.0.1:8080", zone: "zone-a", state: .leaving, tokens: [1, 1 << 31],
            generation: 1_764_000_000_000, timestamp: 1_764_000_100_001),
        InstanceDesc(id: "gone", addr: "h:2", state: .active, tokens: [7], generation: 3, timestamp: 500, readOnly: true),
        InstanceDesc(id: "old", addr: "h:3", state: .joining, generation: 2, timestamp: 70),
        InstanceDesc(id: "pending", addr: "h:1", state: .left, generation: 0, timestamp: 1)
    ])
    ring.merge(RingDesc(graves: ["d": RingDesc.Grave(generation: 2, buriedAt: 90)]))
    return ring
}()

private func require(_ condition: Bool, _ what: @autoclosure () -> String) {
    if !condition { fatalError(what()) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGossip(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = UnsafeBufferPointer(start: data, count: size)
    check(input)
    // A mutated body almost never carries a matching length and CRC, which
    // would keep the fuzzer in the header: decode a copy with both fixed up.
    if size >= GossipCodec.headerSize + 4 {
        var copy = Array(input)
        var header = [UInt8]()
        GossipCodec.appendBigEndian(UInt32(truncatingIfNeeded: size - GossipCodec.headerSize - 4), to: &header)
        copy.replaceSubrange(2..<6, with: header)
        var crc = [UInt8]()
        GossipCodec.appendBigEndian(GossipCodec.crc(Array(copy[..<(size - 4)])), to: &crc)
        copy.replaceSubrange((size - 4)..., with: crc)
        copy.withUnsafeBufferPointer { check($0) }
    }
    return 0
}

private func check(_ input: UnsafeBufferPointer<UInt8>) {
    guard let message = try? GossipCodec.decode(input) else { return }
    roundTrip(message)

    let decoded = message.ring
    var left = fixedRing
    let delta = left.merge(decoded)
    var right = decoded
    right.merge(fixedRing)
    require(left == right, "merge is not commutative")
    require(left.merge(decoded) == nil && left.merge(fixedRing) == nil, "merge is not idempotent")
    var replay = fixedRing
    replay.merge(delta ?? RingDesc())
    require(replay == left, "the delta does not reproduce the merge")
    var again = decoded
    require(again.merge(decoded) == nil, "a decoded ring changes when merged with itself")

    // The merged state must go through the codec as well, and collecting
    // tombstones at any time must neither trap nor revive an instance.
    roundTrip(GossipMessage(kind: .pushPull, sender: message.sender, ring: left, peers: message.peers))
    let now = decoded.instances.values.map(\.timestamp).max() ?? 0
    var collected = left
    collected.collect(now: now, tombstoneMillis: 0, graveMillis: Int64.max, maxGraves: Int.max)
    collected.merge(decoded)
    collected.merge(fixedRing)
    require(collected.members == left.members, "collecting tombstones changed the members")
}

private func roundTrip(_ message: GossipMessage) {
    let encoded = GossipCodec.encode(message)
    let back: GossipMessage
    do {
        back = try GossipCodec.decode(encoded)
    } catch {
        fatalError("an encoded message does not decode: \(error)")
    }
    require(back == message, "decode(encode(x)) != x")
    require(GossipCodec.encode(back) == encoded, "encoding is not deterministic")
}
