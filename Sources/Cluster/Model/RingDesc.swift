/// The whole ring: every instance's entry, plus graves of instances removed
/// long enough ago that their tombstones were collected.
///
/// A state-based CRDT. `merge` keeps, per instance, the greater entry in
/// `InstanceDesc.precedes` order and, per grave, the greater generation; an
/// entry at or below its grave's generation is dropped. Dropping commutes
/// with taking maxima (the maximum entry has the highest generation, so it
/// survives the filter iff some entry does), which keeps merge commutative,
/// associative and idempotent (`RingMergePropertyTests`).
///
/// Why graves: dskit drops a tombstone after 5 minutes, and a member that was
/// partitioned longer then gossips the removed instance back (Mimir #11275).
/// A grave is 20-odd bytes, so they are kept far longer (bounded in number).
package struct RingDesc: Sendable, Equatable {
    package struct Grave: Sendable, Equatable {
        package var generation: UInt64
        /// When the tombstone was collected (Unix ms); ages the grave out.
        package var buriedAt: Int64

        package init(generation: UInt64, buriedAt: Int64) {
            self.generation = generation
            self.buriedAt = buriedAt
        }
    }

    package var instances: [String: InstanceDesc]
    package var graves: [String: Grave]

    package init(instances: [String: InstanceDesc] = [:], graves: [String: Grave] = [:]) {
        self.instances = instances
        self.graves = graves
    }

    package init(_ entries: [InstanceDesc]) {
        self.init(instances: Dictionary(entries.map { ($0.id, $0) }, uniquingKeysWith: { a, b in InstanceDesc.precedes(a, b) ? b : a }))
    }

    package var isEmpty: Bool { instances.isEmpty && graves.isEmpty }

    /// Entries that are not tombstones, sorted by id.
    package var members: [InstanceDesc] {
        instances.values.filter { $0.state != .left }.sorted { $0.id < $1.id }
    }

    package func member(_ id: String) -> InstanceDesc? {
        guard let entry = instances[id], entry.state != .left else { return nil }
        return entry
    }

    /// Merges `other` into this ring and returns what changed here (the entries
    /// and graves that `other` improved), the delta worth passing on; nil when
    /// nothing changed.
    @discardableResult
    package mutating func merge(_ other: RingDesc) -> RingDesc? {
        var delta = RingDesc()
        for (id, grave) in other.graves {
            let known = graves[id]
            if known == nil || known!.generation < grave.generation
                || (known!.generation == grave.generation && known!.buriedAt < grave.buriedAt)
            {
                graves[id] = grave
                delta.graves[id] = grave
            }
        }
        // New graves may bury entries held here.
        for (id, grave) in delta.graves {
            if let entry = instances[id], entry.generation <= grave.generation { instances[id] = nil }
        }
        for (id, entry) in other.instances {
            if let grave = graves[id], entry.generation <= grave.generation { continue }
            if let known = instances[id], !InstanceDesc.precedes(known, entry) { continue }
            instances[id] = entry
            delta.instances[id] = entry
        }
        return delta.isEmpty ? nil : delta
    }

    /// Turns tombstones older than `tombstoneMillis` into graves, forgets
    /// graves older than `graveMillis`, and keeps at most `maxGraves` (the
    /// oldest go first). Local housekeeping, not part of the merge: a grave
    /// and a tombstone at the same generation mean the same thing to `merge`.
    package mutating func collect(now: Int64, tombstoneMillis: Int64, graveMillis: Int64, maxGraves: Int) {
        for (id, entry) in instances where entry.state == .left {
            let (age, overflow) = now.subtractingReportingOverflow(entry.timestamp)
            if !overflow, age > tombstoneMillis {
                instances[id] = nil
                if (graves[id]?.generation ?? 0) <= entry.generation {
                    graves[id] = Grave(generation: entry.generation, buriedAt: now)
                }
            }
        }
        graves = graves.filter { _, grave in
            let (age, overflow) = now.subtractingReportingOverflow(grave.buriedAt)
            return overflow || age <= graveMillis
        }
        if graves.count > maxGraves {
            let keep = graves.sorted { ($0.value.buriedAt, $0.key) > ($1.value.buriedAt, $1.key) }.prefix(Swift.max(0, maxGraves))
            graves = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
        }
    }

    /// The highest generation this ring knows for `id`, alive or removed; a
    /// re-registering instance must go above it.
    package func highestGeneration(of id: String) -> UInt64 {
        Swift.max(instances[id]?.generation ?? 0, graves[id]?.generation ?? 0)
    }
}
