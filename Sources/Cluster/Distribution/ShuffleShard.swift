import Crypto

/// Shuffle sharding (cluster.md §3): each tenant writes to its own small,
/// stable subset of the ring, so one tenant's overload or bad data reaches only
/// its instances, and two tenants rarely share all of them.
///
/// Per zone (zones in sorted order; one pseudo-zone "" without zone
/// awareness), a generator seeded from the tenant and the zone draws a point
/// per wanted instance; the instance owning the first token after the point
/// (among that zone's tokens) joins the shard, or the next one clockwise not
/// yet chosen. The zone's draws never depend on other zones, and an instance
/// added or removed displaces at most the one draw that lands on it, so the
/// shard changes by at most one member (consistency). A zone that has no more
/// instances than the per-zone count is taken whole.
///
/// Seeding is dskit's (`ring/shard` `ShuffleShardSeed`): the first 8 bytes,
/// big-endian, of MD5(tenant) without zones or MD5(tenant, 0x00, zone) with
/// them. The generator is not Go's `math/rand` (its source is seeded from a
/// 607-entry table of precomputed values): it is SplitMix64 (Steele, Lea and
/// Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014) with
/// that seed, each draw the high 32 bits of one output. So shards do not match
/// a Mimir cluster's; what matters is that every node of ours computes the
/// same shard from the same ring, and it does, from nothing but the tenant,
/// the zones and the tokens.
extension RingSnapshot {
    /// The tenant's write shard: `size` instances in total, ceil(size/zones)
    /// per zone with `zoneAware`. Read-only instances are passed over (the
    /// walk goes on to the next), so the shard is filled with writable ones.
    /// `size` ≤ 0 means no sharding: every writable instance.
    package func shuffleShard(tenant: String, size: Int, zoneAware: Bool) -> RingSnapshot {
        shard(tenant: tenant, size: size, zoneAware: zoneAware, lookbackStart: nil)
    }

    /// The tenant's read shard: every instance that may hold the tenant's
    /// series written since `now - lookbackMillis` (Unix ms). The write shard's
    /// walk, except that instances registered within the lookback, or whose
    /// read-only flag flipped within it (either way), or that are read-only
    /// with an unknown flip time, are included without counting towards the
    /// size: the walk continues to the instance that held their series before.
    /// Read-only instances that flipped before the lookback are left out.
    /// The result may be unbalanced across zones: never write through it.
    package func shuffleShardWithLookback(
        tenant: String, size: Int, zoneAware: Bool, now: Int64, lookbackMillis: Int64
    ) -> RingSnapshot {
        // As dskit: no lookback is the write shard.
        guard lookbackMillis > 0 else { return shuffleShard(tenant: tenant, size: size, zoneAware: zoneAware) }
        let (start, overflow) = now.subtractingReportingOverflow(lookbackMillis)
        return shard(tenant: tenant, size: size, zoneAware: zoneAware, lookbackStart: overflow ? .min : start)
    }

    /// `lookbackStart` nil is the write shard.
    private func shard(tenant: String, size: Int, zoneAware: Bool, lookbackStart: Int64?) -> RingSnapshot {
        let members = self.members
        // dskit's shouldIncludeReadonlyInstanceInTheShard.
        func admitted(_ m: InstanceDesc) -> Bool {
            guard m.readOnly else { return true }
            guard let start = lookbackStart else { return false }
            return m.readOnlyUpdatedTimestamp <= 0 || m.readOnlyUpdatedTimestamp >= start
        }
        guard size > 0 else { return RingSnapshot(RingDesc(members.filter(admitted))) }
        // Everyone registered within the lookback: everyone is in the read shard.
        if let start = lookbackStart, let oldest = members.lazy.map(\.registeredTimestamp).min(), oldest > 0, oldest >= start {
            return self
        }
        let zones = zoneAware ? self.zones : [""]
        guard !zones.isEmpty else { return RingSnapshot(RingDesc()) }
        let perZone = ShuffleShard.instancesPerZone(size: size, zones: zones.count)

        // The resolved owner of every token, per zone (one table without
        // zone awareness): a member's own tokens minus those it lost.
        let zoneOf = Dictionary(uniqueKeysWithValues: zones.enumerated().map { ($0.element, $0.offset) })
        var tables = Array(repeating: [(token: UInt32, member: Int)](), count: zones.count)
        var zoneMembers = Array(repeating: [Int](), count: zones.count)
        for (m, desc) in members.enumerated() {
            guard let z = zoneAware ? zoneOf[desc.zone] : 0 else { continue }
            zoneMembers[z].append(m)
            let lost = conflictedTokens(of: desc.id)
            let lostSet = lost.isEmpty ? nil : Set(lost)
            for token in desc.tokens where lostSet?.contains(token) != true { tables[z].append((token, m)) }
        }
        var chosen = Array(repeating: false, count: members.count)
        var picked: [InstanceDesc] = []

        for (z, zone) in zones.enumerated() {
            if zoneAware && perZone >= zoneMembers[z].count {
                for m in zoneMembers[z] where admitted(members[m]) {
                    chosen[m] = true
                    picked.append(members[m])
                }
                continue
            }
            // Sorted and unique: a token left after conflicts has one owner,
            // though a bad peer's entry may repeat it.
            var zoneTokens: [UInt32] = []
            var zoneOwners: [Int] = []
            for entry in tables[z].sorted(by: { $0.token < $1.token }) where entry.token != zoneTokens.last {
                zoneTokens.append(entry.token)
                zoneOwners.append(entry.member)
            }
            guard !zoneTokens.isEmpty else { continue }
            var random = ShuffleShard.Draws(seed: ShuffleShard.seed(tenant: tenant, zone: zone))
            for _ in 0..<perZone {
                let first = RingSnapshot.firstIndex(after: random.next(), in: zoneTokens)
                var found = false
                for step in 0..<zoneTokens.count {
                    let m = zoneOwners[(first + step) % zoneTokens.count]
                    let desc = members[m]
                    if chosen[m] || !admitted(desc) { continue }
                    chosen[m] = true
                    picked.append(desc)
                    if let start = lookbackStart,
                        desc.registeredTimestamp >= start || desc.readOnly || desc.readOnlyUpdatedTimestamp >= start
                    {
                        continue
                    }
                    found = true
                    break
                }
                // The zone has no instance left to choose.
                if !found { break }
            }
        }
        return RingSnapshot(RingDesc(picked))
    }
}

package enum ShuffleShard {
    /// dskit's seed: MD5 of the tenant (and 0x00 and the zone when there is
    /// one), its first 8 bytes read big-endian.
    package static func seed(tenant: String, zone: String) -> UInt64 {
        var md5 = Insecure.MD5()
        update(&md5, tenant)
        if !zone.isEmpty {
            update(&md5, "\u{0}")
            update(&md5, zone)
        }
        var seed: UInt64 = 0
        for byte in md5.finalize().prefix(8) { seed = seed << 8 | UInt64(byte) }
        return seed
    }

    private static func update(_ md5: inout Insecure.MD5, _ string: String) {
        var string = string
        string.withUTF8 { md5.update(bufferPointer: UnsafeRawBufferPointer($0)) }
    }

    /// ceil(size / zones), without overflow for any size.
    package static func instancesPerZone(size: Int, zones: Int) -> Int {
        guard zones > 0 else { return size }
        return size / zones + (size % zones == 0 ? 0 : 1)
    }

    /// SplitMix64's high 32 bits: the points a zone's walk starts from.
    /// Part of the shard's definition: changing it moves every tenant's shard.
    package struct Draws {
        private var generator: SplitMix

        package init(seed: UInt64) { generator = SplitMix(seed: seed) }

        package mutating func next() -> UInt32 { UInt32(truncatingIfNeeded: generator.next() >> 32) }
    }
}
