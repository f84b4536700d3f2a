/// Why tokens could not be generated.
package enum TokenGenerationError: Error, Equatable, CustomStringConvertible {
    case badTokenCount(Int)
    case ringFull(taken: Int)
    case noNumericSuffix(instanceID: String)
    case instanceIndexTooHigh(instanceID: String, limit: Int)
    case badZoneCount(Int)
    case unknownZone(zone: String, zones: [String])
    case cannotSpread(instanceIndex: Int, tokens: Int)

    package var description: String {
        switch self {
        case .badTokenCount(let count):
            "token count \(count) is out of range 1...\(TokensFile.maxTokens)"
        case .ringFull(let taken):
            "\(taken) tokens are taken: too many for random tokens to find free ones"
        case .noNumericSuffix(let id):
            "instance ID \"\(id)\" does not end in -<number> (e.g. ingester-zone-a-7), which spread-minimizing tokens need"
        case .instanceIndexTooHigh(let id, let limit):
            "instance ID \"\(id)\": its number is above \(limit), the highest spread-minimizing tokens support"
        case .badZoneCount(let count):
            "spread-minimizing tokens support 1...\(SpreadMinimizingTokenGenerator.maxZones) zones, got \(count)"
        case .unknownZone(let zone, let zones):
            "zone \"\(zone)\" is not in the spread-minimizing zone list [\(zones.joined(separator: ", "))]"
        case .cannotSpread(let index, let tokens):
            "cannot place \(tokens) spread-minimizing tokens for instance \(index): the ranges got too small"
        }
    }
}

/// Random tokens (dskit's default strategy): uniform draws, rejecting any
/// token already taken in the ring or already drawn.
package enum RandomTokenGenerator {
    package static func generate(
        count: Int, taken: Set<UInt32>, using generator: inout some RandomNumberGenerator
    ) throws(TokenGenerationError) -> [UInt32] {
        guard (1...TokensFile.maxTokens).contains(count) else { throw .badTokenCount(count) }
        // Rejection sampling stays cheap while most of the space is free; a
        // ring this full is not one anything should add random tokens to.
        guard taken.count <= Int(UInt32.max / 2) else { throw .ringFull(taken: taken.count) }
        var drawn = Set<UInt32>()
        drawn.reserveCapacity(count)
        while drawn.count < count {
            let token: UInt32 = generator.next()
            if !taken.contains(token) { drawn.insert(token) }
        }
        return drawn.sorted()
    }
}

/// Spread-minimizing tokens, after Mimir's `spread-minimizing` strategy
/// (cluster.md §1.5): deterministic, so every member can compute every
/// instance's tokens, and placed so each zone's instances own near-equal
/// shares of the zone's ring.
///
/// An instance is identified by the number ending its ID (`<prefix>-<N>`)
/// and its zone's index in the sorted zone list. Every token of zone `z` is
/// congruent to `z` modulo `maxZones`, so zones never collide and each zone
/// forms a ring of its own. Instance 0 spreads its tokens evenly; instance N
/// is planned by replaying instances 1...N in order, each taking its fair
/// share, 1/(k+1) of the space, by splitting the largest ranges of the
/// instances that own the most. So instance N's tokens depend only on N:
/// instances may join in any order, and the zone is balanced whenever it
/// holds instances 0...N.
///
/// Unlike dskit, which always plans 512 tokens per instance and hands out the
/// lowest `count` of them (all near the start of the ring unless `count` is
/// 512), the plan is made for the `count` tokens the instance uses; every
/// instance of a ring must therefore use the same count.
package struct SpreadMinimizingTokenGenerator: Sendable {
    /// Tokens of zone `z` are congruent to `z` modulo this; as in dskit, a
    /// fixed 8 rather than the zone count, so adding a zone later moves none.
    package static let maxZones = 8
    /// Planning instance N replays instances 1...N, and the work grows
    /// faster than N (instance 2047 with 128 tokens: 0.2 s in a release
    /// build, 2.5 s in a debug one); far more instances than a zone holds.
    package static let maxInstanceIndex = 2_047

    package let instanceIndex: Int
    package let zoneIndex: Int

    /// `zones` is every zone the ring uses (any order, duplicates ignored).
    package init(instanceID: String, zone: String, zones: [String]) throws(TokenGenerationError) {
        let sorted = Array(Set(zones)).sorted()
        guard (1...Self.maxZones).contains(sorted.count) else { throw .badZoneCount(sorted.count) }
        guard let zoneIndex = sorted.firstIndex(of: zone) else { throw .unknownZone(zone: zone, zones: sorted) }
        self.zoneIndex = zoneIndex
        instanceIndex = try Self.parseIndex(instanceID)
    }

    private static func parseIndex(_ id: String) throws(TokenGenerationError) -> Int {
        guard let dash = id.lastIndex(of: "-"), dash != id.startIndex else { throw .noNumericSuffix(instanceID: id) }
        let digits = id[id.index(after: dash)...]
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { throw .noNumericSuffix(instanceID: id) }
        // Leading zeros would let two IDs share a number ("x-7", "x-07").
        guard digits == "0" || digits.first != "0" else { throw .noNumericSuffix(instanceID: id) }
        guard digits.count <= 4, let index = Int(digits), index <= maxInstanceIndex else {
            throw .instanceIndexTooHigh(instanceID: id, limit: maxInstanceIndex)
        }
        return index
    }

    /// The instance's `count` tokens, sorted.
    package func generate(count: Int) throws(TokenGenerationError) -> [UInt32] {
        guard (1...TokensFile.maxTokens).contains(count) else { throw .badTokenCount(count) }
        let modulus = UInt64(Self.maxZones)
        let space: UInt64 = 1 << 32
        let spacing = space / UInt64(count) / modulus * modulus
        let first = (0..<UInt64(count)).map { UInt32($0 * spacing + UInt64(zoneIndex)) }
        if instanceIndex == 0 { return first }

        // Each planned instance: its total owned length and its token ranges.
        var ranges: [Heap<TokenRange>] = [Heap()]
        var previous = first[first.count - 1]
        for token in first {
            ranges[0].push(TokenRange(start: previous, token: token, length: count == 1 ? space : UInt64(token &- previous)))
            previous = token
        }
        var owners = Heap<InstanceShare>()
        owners.push(InstanceShare(index: 0, owned: space))

        var tokens: [UInt32] = []
        for k in 1...instanceIndex {
            let fair = space / UInt64(k + 1)
            var owned: UInt64 = 0
            var mine = Heap<TokenRange>()
            tokens = []
            var setAside: [InstanceShare] = []
            while tokens.count < count {
                // Take what is still missing evenly over the tokens left,
                // keeping every token congruent to the zone.
                let want = (fair - Swift.min(fair, owned)) / UInt64(count - tokens.count) / modulus * modulus
                guard want > 0, let richest = owners.top else { throw .cannotSpread(instanceIndex: k, tokens: count) }
                guard let widest = ranges[richest.index].top, widest.length > want else {
                    // None of its ranges can give `want` and keep a part:
                    // leave this instance alone for the rest of instance k.
                    setAside.append(owners.pop()!)
                    continue
                }
                let token = widest.start &+ UInt32(want)
                tokens.append(token)
                mine.push(TokenRange(start: widest.start, token: token, length: want))
                owned += want
                ranges[richest.index].updateTop { $0 = TokenRange(start: token, token: $0.token, length: $0.length - want) }
                owners.updateTop { $0.owned -= want }
            }
            for share in setAside { owners.push(share) }
            ranges.append(mine)
            owners.push(InstanceShare(index: k, owned: owned))
        }
        return tokens.sorted()
    }
}

/// The range `[start, token)` that `token` owns.
private struct TokenRange: Comparable {
    var start: UInt32
    var token: UInt32
    var length: UInt64

    /// Wider ranges first; among equal ones the lower token, so plans are
    /// deterministic.
    static func < (a: TokenRange, b: TokenRange) -> Bool {
        a.length != b.length ? a.length < b.length : a.token > b.token
    }
}

private struct InstanceShare: Comparable {
    var index: Int
    var owned: UInt64

    static func < (a: InstanceShare, b: InstanceShare) -> Bool {
        a.owned != b.owned ? a.owned < b.owned : a.index > b.index
    }
}

/// A binary max-heap.
private struct Heap<Element: Comparable> {
    private var items: [Element] = []

    var top: Element? { items.first }

    mutating func push(_ element: Element) {
        items.append(element)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[parent] < items[child] else { break }
            items.swapAt(parent, child)
            child = parent
        }
    }

    mutating func pop() -> Element? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let element = items.removeLast()
        siftDown()
        return element
    }

    /// Changes the top element, which may only lower its priority.
    mutating func updateTop(_ change: (inout Element) -> Void) {
        guard !items.isEmpty else { return }
        change(&items[0])
        siftDown()
    }

    private mutating func siftDown() {
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var largest = parent
            if left < items.count && items[largest] < items[left] { largest = left }
            if right < items.count && items[largest] < items[right] { largest = right }
            if largest == parent { return }
            items.swapAt(parent, largest)
            parent = largest
        }
    }
}
