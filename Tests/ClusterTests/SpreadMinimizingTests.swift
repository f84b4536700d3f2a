import Testing

@testable import Cluster

@Suite struct SpreadMinimizingTests {
    let zones = ["zone-a", "zone-b", "zone-c"]

    func tokens(_ id: String, _ zone: String, count: Int = 128) throws -> [UInt32] {
        try SpreadMinimizingTokenGenerator(instanceID: id, zone: zone, zones: zones).generate(count: count)
    }

    @Test func instanceZeroIsEvenlySpacedAndCongruentToItsZone() throws {
        let first = try tokens("ingester-zone-b-0", "zone-b")
        #expect(first.count == 128)
        #expect(first.first == 1)
        #expect(zip(first, first.dropFirst()).allSatisfy { $1 - $0 == 1 << 25 })
    }

    @Test func tokensAreDeterministicAndIgnoreZoneOrder() throws {
        let a = try tokens("ingester-zone-c-7", "zone-c")
        let b = try SpreadMinimizingTokenGenerator(instanceID: "other-prefix-7", zone: "zone-c", zones: zones.reversed() + ["zone-a"])
            .generate(count: 128)
        #expect(a == b)
        #expect(a.allSatisfy { $0 % 8 == 2 })
    }

    /// A full ring of 10 instances per zone: no token is claimed twice, and
    /// every zone is split almost evenly.
    @Test func aZoneIsBalanced() throws {
        var entries: [InstanceDesc] = []
        for zone in zones {
            for i in 0..<10 {
                let id = "ingester-\(zone)-\(i)"
                let mine = try tokens(id, zone)
                #expect(mine.count == 128)
                #expect(zip(mine, mine.dropFirst()).allSatisfy { $0 < $1 })
                entries.append(InstanceDesc(id: id, addr: "", zone: zone, state: .active, tokens: mine, generation: 1, timestamp: 0))
            }
        }
        let ring = RingSnapshot(RingDesc(entries))
        #expect(ring.tokens.count == 30 * 128)
        #expect(ring.members.allSatisfy { ring.conflictedTokens(of: $0.id).isEmpty })
        let shares = ring.ownership(zoneAware: true).values
        #expect(shares.max()! / shares.min()! < 1.02, "\(shares.min()!)...\(shares.max()!)")
    }

    /// The ring is balanced at every size, because instance N is planned as
    /// the N+1-th instance joining a ring of 0...N-1.
    @Test func everyPrefixOfTheZoneIsBalanced() throws {
        var entries: [InstanceDesc] = []
        for i in 0..<6 {
            let id = "ingester-zone-a-\(i)"
            entries.append(
                InstanceDesc(
                    id: id, addr: "", zone: "zone-a", state: .active, tokens: try tokens(id, "zone-a", count: 64), generation: 1, timestamp: 0))
            let shares = RingSnapshot(RingDesc(entries)).ownership().values
            #expect(shares.max()! / shares.min()! < 1.02, "\(i + 1) instances: \(shares.min()!)...\(shares.max()!)")
        }
    }

    @Test func oneTokenAndManyTokens() throws {
        #expect(try tokens("x-0", "zone-a", count: 1) == [0])
        let one = try tokens("x-1", "zone-a", count: 1)
        #expect(one == [1 << 31])
        let many = try tokens("x-3", "zone-c", count: 4096)
        #expect(Set(many).count == 4096)
    }

    @Test func idsWithoutANumberAreRejected() {
        for id in ["ingester", "ingester-", "ingester-zone-a-x7", "-7", "ingester-07", "ingester-1.5", "ingester-٣"] {
            #expect(throws: TokenGenerationError.noNumericSuffix(instanceID: id)) {
                try SpreadMinimizingTokenGenerator(instanceID: id, zone: "zone-a", zones: zones)
            }
        }
        #expect(throws: TokenGenerationError.instanceIndexTooHigh(instanceID: "x-2048", limit: 2047)) {
            try SpreadMinimizingTokenGenerator(instanceID: "x-2048", zone: "zone-a", zones: zones)
        }
        #expect(throws: TokenGenerationError.instanceIndexTooHigh(instanceID: "x-99999999999999999999999", limit: 2047)) {
            try SpreadMinimizingTokenGenerator(instanceID: "x-99999999999999999999999", zone: "zone-a", zones: zones)
        }
        let error = TokenGenerationError.noNumericSuffix(instanceID: "ingester")
        #expect(error.description.contains("\"ingester\""))
    }

    @Test func zonesOutsideTheListAreRejected() {
        #expect(throws: TokenGenerationError.unknownZone(zone: "zone-d", zones: zones)) {
            try SpreadMinimizingTokenGenerator(instanceID: "x-1", zone: "zone-d", zones: zones)
        }
        #expect(throws: TokenGenerationError.badZoneCount(0)) {
            try SpreadMinimizingTokenGenerator(instanceID: "x-1", zone: "", zones: [])
        }
        let nine = (0..<9).map { "z\($0)" }
        #expect(throws: TokenGenerationError.badZoneCount(9)) {
            try SpreadMinimizingTokenGenerator(instanceID: "x-1", zone: "z0", zones: nine)
        }
        #expect(throws: TokenGenerationError.badTokenCount(0)) {
            try SpreadMinimizingTokenGenerator(instanceID: "x-1", zone: "zone-a", zones: zones).generate(count: 0)
        }
        #expect(TokenGenerationError.unknownZone(zone: "zone-d", zones: zones).description.contains("zone-d"))
    }
}
