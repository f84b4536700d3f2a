import TestSupport
import Testing

@testable import Engine

@Suite struct SeriesHashTableTests {
    /// Random inserts and removals against a dictionary model, with few
    /// distinct hashes (long collision runs) and with hashes whose home slots
    /// wrap around the end of the table, through several resizes.
    @Test(arguments: [4, 64, 100_000] as [UInt64])
    func behavesLikeAMultimap(distinctHashes: UInt64) {
        var rng = SplitMix64(seed: 0x5E71_0000 &+ distinctHashes)
        let table = SeriesHashTable(capacity: 16)
        var model: [UInt64: Set<UInt32>] = [:]
        var live: [(UInt64, UInt32)] = []
        var nextID: UInt32 = 0
        for step in 0..<10_000 {
            if live.isEmpty || rng.next() % 3 != 0 {
                let h = (rng.next() % distinctHashes) &* 0x9E37_79B9_7F4A_7C15 | (rng.next() % 2 == 0 ? 0 : 0xF)
                table.insert(h, nextID)
                model[h, default: []].insert(nextID)
                live.append((h, nextID))
                nextID += 1
            } else {
                let i = Int(rng.next() % UInt64(live.count))
                let (h, id) = live.remove(at: i)
                #expect(table.remove(h, id))
                model[h]?.remove(id)
                #expect(!table.remove(h, id), "removed twice")
            }
            if step % 1000 == 999 {
                #expect(table.count == live.count)
                for (h, ids) in model {
                    for id in ids { #expect(table.find(h) { $0 == id } == id) }
                    var seen = Set<UInt32>()
                    _ = table.find(h) {
                        seen.insert($0); return false
                    }
                    #expect(seen == ids, "hash \(h)")
                }
            }
        }
    }
}
