import Testing

@testable import Cluster

@Suite struct QuorumTrackerTests {
    /// Three healthy replicas a < b < c (one per zone), each owning part of
    /// the ring; `hashes` land on sets in ring order.
    func batch(_ hashes: [UInt32], down: Set<String> = []) throws -> WriteBatch {
        let ring = RingSnapshot(
            RingDesc([
                distEntry("a", zone: "za", tokens: [100], stale: down.contains("a")),
                distEntry("b", zone: "zb", tokens: [200], stale: down.contains("b")),
                distEntry("c", zone: "zc", tokens: [300], stale: down.contains("c"))
            ]))
        return try WriteBatch(
            hashes: hashes, ring: ring, replicationFactor: 3, zoneAware: true, now: distNow, heartbeatTimeoutMillis: distTimeout)
    }

    /// The rule written out on its own: after each answer, 2 successes
    /// decide success, 2 errors of one family fail with that family, and
    /// three answers without either fail with the last error's family.
    func expected(_ answers: [BatchOutcome]) -> (step: Int, decision: QuorumDecision) {
        var successes = 0
        var client = 0
        var server = 0
        for (step, answer) in answers.enumerated() {
            switch answer {
            case .success: successes += 1
            case .clientError: client += 1
            case .serverError: server += 1
            }
            if successes == 2 { return (step, .succeeded) }
            if client == 2 { return (step, .failed(.client, target: step)) }
            if server == 2 { return (step, .failed(.server, target: step)) }
        }
        let last = answers.lastIndex { $0 != .success }!
        return (2, .failed(answers[last] == .clientError ? .client : .server, target: last))
    }

    @Test func everyCombinationOfThreeAnswers() throws {
        let b = try batch([50])
        #expect(b.targets.count == 3)
        let outcomes: [BatchOutcome] = [.success, .clientError, .serverError]
        for x in outcomes {
            for y in outcomes {
                for z in outcomes {
                    let answers = [x, y, z]
                    // Targets answer in the order 0, 1, 2 (the expectation
                    // names the deciding target by answer position).
                    var tracker = QuorumTracker(b)
                    var decided: (Int, QuorumDecision)?
                    for (step, answer) in answers.enumerated() {
                        if let d = tracker.record(target: step, answer) {
                            #expect(decided == nil)
                            decided = (step, d)
                        }
                    }
                    let want = expected(answers)
                    #expect(decided?.0 == want.step, "\(answers)")
                    #expect(decided?.1 == want.decision, "\(answers)")
                    #expect(tracker.decision == want.decision, "\(answers)")
                }
            }
        }
    }

    /// With a replica down, a series needs both live ones: any error fails it.
    @Test func oneReplicaDown() throws {
        let b = try batch([50], down: ["c"])
        #expect(b.targets.map(\.instance.id).sorted() == ["a", "b"])
        var ok = QuorumTracker(b)
        #expect(ok.record(target: 0, .success) == nil)
        #expect(ok.record(target: 1, .success) == .succeeded)
        for failure in [BatchOutcome.clientError, .serverError] {
            var tracker = QuorumTracker(b)
            #expect(tracker.record(target: 1, .success) == nil)
            #expect(tracker.record(target: 0, failure) == .failed(failure == .clientError ? .client : .server, target: 0))
        }
        #expect(throws: InsufficientReplicasError.self) { try batch([50], down: ["b", "c"]) }
    }

    /// Every series of a batch is counted: all three live on a, b and c, so
    /// one batch's answer moves all of them.
    @Test func everySeriesMustReachQuorum() throws {
        let b = try batch([50, 150, 250])
        var tracker = QuorumTracker(b)
        let byID = Dictionary(uniqueKeysWithValues: b.targets.enumerated().map { ($0.element.instance.id, $0.offset) })
        #expect(tracker.record(target: byID["a"]!, .success) == nil)
        #expect(tracker.record(target: byID["b"]!, .success) == .succeeded)

        var failing = QuorumTracker(b)
        #expect(failing.record(target: byID["a"]!, .serverError) == nil)
        #expect(failing.record(target: byID["b"]!, .success) == nil)
        #expect(failing.record(target: byID["c"]!, .serverError) == .failed(.server, target: byID["c"]!))
        // Decided: later and repeated answers change nothing.
        #expect(failing.record(target: byID["b"]!, .success) == nil)
        #expect(failing.decision == .failed(.server, target: byID["c"]!))

        var repeated = QuorumTracker(b)
        #expect(repeated.record(target: byID["a"]!, .success) == nil)
        #expect(repeated.record(target: byID["a"]!, .success) == nil)
        #expect(repeated.record(target: 99, .success) == nil)
        #expect(repeated.decision == nil)
    }

    /// A quorum of rejections is the client's error, even when the third
    /// replica failed for its own reasons first.
    @Test func quorumOfClientErrorsIsAClientError() throws {
        var entries: [InstanceDesc] = []
        for (i, zone) in ["za", "zb", "zc"].enumerated() {
            entries.append(distEntry("\(zone)-0", zone: zone, tokens: [UInt32(i * 10 + 1000)]))
            entries.append(distEntry("\(zone)-1", zone: zone, tokens: [UInt32(i * 10 + 2000)]))
        }
        let ring = RingSnapshot(RingDesc(entries))
        let b = try WriteBatch(
            hashes: [1500, 1500, 1510], ring: ring, replicationFactor: 3, zoneAware: true, now: distNow, heartbeatTimeoutMillis: distTimeout)
        #expect(b.targets.count == 3)
        var tracker = QuorumTracker(b)
        #expect(tracker.record(target: 0, .serverError) == nil)
        #expect(tracker.record(target: 1, .clientError) == nil)
        #expect(tracker.record(target: 2, .clientError) == .failed(.client, target: 2))
    }
}
