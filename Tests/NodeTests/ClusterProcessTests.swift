import Cluster
import Foundation
import TestSupport
import Testing

extension NodeProcessSuites {
    /// Real `muninn node` processes forming a ring by gossip on loopback
    /// (issue 13): joins converge, leaves are never stuck (also with message
    /// loss), a killed node is forgotten for good, a healed partition does not
    /// resurrect a removed instance, and a restart keeps its tokens. Under
    /// `NodeProcessSuites`, so no other node test competes for the CPU while
    /// these wait for heartbeats.
    @Suite struct ClusterProcessTests {
        static let leaveTimeout = 5.0
        /// What a leave may take beyond the leave timeout: the node stops
        /// admitting requests and closes its storage before it leaves.
        static let leaveMargin = 2.0

        @Test(arguments: [3, 6])
        func nodesJoiningThroughOneSeedConverge(size: Int) throws {
            let ring = TestRing("converge\(size)", size: size)
            let started = Date()
            try ring.startAll()
            let converged = ring.waitConverged(timeout: 90)
            let seconds = Date().timeIntervalSince(started)
            #expect(converged, "\(size) nodes did not converge:\n\(ring.report())")
            print("cluster: \(size) nodes joining through one seed converged in \(String(format: "%.2f", seconds)) s (from launch)")
        }

        /// 32 leaves of 4 nodes, each node in turn, restarted between trials.
        @Test func everyLeaveIsDroppedByEveryRemainingNodeWithinTheLeaveTimeout() throws {
            let ring = TestRing("leaves", size: 4, seeds: .all, flags: Self.slowForget)
            try ring.startAll()
            try #require(ring.waitConverged(), "\(ring.report())")
            let (slowest, each) = try leaves(ring, trials: 32)
            print("cluster: leave propagation, slowest remaining node per leave: \(slowest.summary)")
            print("cluster: leave propagation, every remaining node: \(each.summary)")
        }

        @Test(arguments: [0.1, 0.3])
        func leavesCompleteDespiteGossipMessageLoss(dropRate: Double) throws {
            let ring = TestRing(
                "loss", size: 4, seeds: .all, flags: Self.slowForget + ["--test-drop-rate", String(dropRate)])
            try ring.startAll()
            try #require(ring.waitConverged(timeout: 90), "\(ring.report())")
            let (slowest, _) = try leaves(ring, trials: 8)
            print("cluster: leave propagation with \(Int(dropRate * 100)) % of gossip messages dropped: \(slowest.summary)")
        }

        /// Auto-forget after heartbeat-timeout × periods must not rescue a
        /// leave that was never published: it has to come later than the bound.
        static let slowForget = ["--heartbeat-timeout", "5s", "--auto-forget-periods", "3"]

        /// SIGTERMs each member in turn, `trials` times: every remaining member
        /// must drop it within the leave timeout (plus the margin), keep no
        /// LEAVING or UNHEALTHY entry, and the leaver must see its removal
        /// confirmed. The leaver is restarted (same ID) before the next trial.
        /// Returns the slowest remaining member per leave, and every member.
        func leaves(_ ring: TestRing, trials: Int) throws -> (Durations, Durations) {
            var slowest = Durations()
            var each = Durations()
            for trial in 0..<trials {
                let leaver = trial % ring.members.count
                let id = ring.members[leaver].id
                let others = ring.members.indices.filter { $0 != leaver }
                let remaining = others.map { ring.members[$0].id }
                let sent = Date()
                ring.members[leaver].signal(SIGTERM)
                var dropped: [Int: Double] = [:]
                _ = poll(timeout: 30, every: 0.02) {
                    for index in others where dropped[index] == nil {
                        if let shards = ring.ring(index), !shards.contains(where: { $0.id == id }) {
                            dropped[index] = Date().timeIntervalSince(sent)
                        }
                    }
                    return dropped.count == others.count
                }
                let context = "trial \(trial), \(id) leaving"
                try #require(dropped.count == others.count, "\(context): not dropped by all:\n\(ring.report())")
                for time in dropped.values { each.add(time) }
                let latest = dropped.values.max() ?? 0
                slowest.add(latest)
                try #require(
                    latest <= Self.leaveTimeout + Self.leaveMargin,
                    "\(context): dropped after \(latest) s, beyond the leave timeout \(Self.leaveTimeout) s + \(Self.leaveMargin) s")
                let stuck = ring.waitConverged(on: others, ids: remaining, timeout: 5)
                try #require(stuck, "\(context): stuck entries remain:\n\(ring.report())")
                let status = ring.members[leaver].process?.waitForExit(timeout: 30)
                try #require(status == 0, "\(context): exit status \(String(describing: status))")
                try #require(
                    ring.members[leaver].output.contains("ring: removed from the ring"),
                    "\(context): the removal was not confirmed by every peer:\n\(ring.report())")
                try ring.start(leaver)
                try #require(ring.waitConverged(), "\(context): did not rejoin:\n\(ring.report())")
            }
            return (slowest, each)
        }

        /// The seed restarts, and its `--join` names only itself: the others
        /// must find it again at its address, or it stays alone in a ring of
        /// its own while /ready says 200. The periodic rejoin (which would
        /// find it after the rejoin interval, 1 m by default) is off.
        @Test(arguments: [SIGTERM, SIGKILL])
        func aRestartedSeedFindsTheRingAgain(signal: Int32) throws {
            let ring = TestRing("seed", size: 3, flags: ["--rejoin-interval", "0s"])
            try ring.startAll()
            try #require(ring.waitConverged(), "\(ring.report())")
            let seed = ring.members[0]
            seed.process?.stop(signal)
            // Gone from the others' view first: left, or unhealthy and so no
            // longer answering gossip.
            let gone = poll(timeout: 30) {
                [1, 2].allSatisfy { index in
                    ring.ring(index).map { shards in !shards.contains { $0.id == seed.id && $0.state == "ACTIVE" } } ?? false
                }
            }
            try #require(gone, "\(ring.report())")
            try ring.start(0)
            #expect(ring.waitConverged(), "the restarted seed did not find the ring:\n\(ring.report())")
        }

        /// The Istio story: a node's traffic stops at once (kill -9). Peers
        /// must mark it UNHEALTHY after the heartbeat timeout, forget it after
        /// the auto-forget period, and it must never come back.
        @Test func aKilledNodeIsMarkedUnhealthyThenForgottenForGood() throws {
            let ring = TestRing("killed", size: 4)
            try ring.startAll()
            try #require(ring.waitConverged(), "\(ring.report())")
            let victim = ring.members[3]
            let peers = [0, 1, 2]
            let killed = Date()
            victim.process?.stop(SIGKILL)
            var unhealthy: [Int: Double] = [:]
            var forgotten: [Int: Double] = [:]
            _ = poll(timeout: 60) {
                for index in peers where forgotten[index] == nil {
                    guard let shards = ring.ring(index) else { continue }
                    let now = Date().timeIntervalSince(killed)
                    if let entry = shards.first(where: { $0.id == victim.id }) {
                        if entry.state == "UNHEALTHY", unhealthy[index] == nil { unhealthy[index] = now }
                    } else {
                        forgotten[index] = now
                    }
                }
                return forgotten.count == peers.count
            }
            print("cluster: killed node UNHEALTHY after \(unhealthy.values.sorted()) s, forgotten after \(forgotten.values.sorted()) s")
            try #require(forgotten.count == peers.count, "not forgotten by every peer:\n\(ring.report())")
            // Its last heartbeat may be a period or more (a late heartbeat)
            // older than the kill: timeout 3 s, 2 periods, 1 s heartbeats.
            #expect(unhealthy.count == peers.count, "a peer never showed it UNHEALTHY before forgetting it")
            #expect(unhealthy.values.allSatisfy { $0 >= 1 }, "UNHEALTHY before the heartbeat timeout: \(unhealthy)")
            #expect(forgotten.values.allSatisfy { $0 >= 4 }, "forgotten before the auto-forget period: \(forgotten)")
            let forgetLogged = peers.contains { index in
                ring.members[index].output.split(separator: "\n").contains {
                    $0.contains("ring: forgot an instance") && $0.contains(victim.id)
                }
            }
            #expect(forgetLogged, "no peer logged forgetting \(victim.id):\n\(ring.report())")
            // Three more heartbeat timeouts: no peer gossips it back.
            let reappeared = poll(timeout: 9) {
                peers.contains { ring.ring($0)?.contains(where: { $0.id == victim.id }) ?? false }
            }
            #expect(!reappeared, "\(victim.id) came back:\n\(ring.report())")
            #expect(ring.waitConverged(on: peers, ids: peers.map { ring.members[$0].id }, timeout: 5), "\(ring.report())")
        }

        /// A partition longer than the tombstone retention. C, a member played
        /// by the test, takes a copy of the ring while B is in it and then
        /// hears nothing; B leaves, and A turns B's tombstone into a grave;
        /// then C comes back and pushes its stale copy of B, as a full state
        /// and as a delta. B must not come back on A, and A's answer must make
        /// C drop B too. (A frozen node is no partition: the kernel keeps what
        /// peers send it in its sockets, and it learns of B's leave on waking.)
        @Test func aHealedPartitionDoesNotResurrectARemovedInstance() throws {
            let ring = TestRing(
                "partition", size: 2, flags: ["--tombstone-retention", "3s", "--leave-timeout", "2s"])
            try ring.startAll()
            try #require(ring.waitConverged(), "\(ring.report())")
            let (a, b) = (ring.members[0], ring.members[1])
            let c = GossipWire(name: "n3")
            var stale = try c.pushPull(RingDesc(), to: a.gossipPort).ring
            try #require(stale.member(b.id)?.state == .active, "C's copy lacks B: \(stale)")
            b.signal(SIGTERM)
            try #require(b.process?.waitForExit(timeout: 30) == 0, "B did not leave cleanly:\n\(b.output)")
            // A's full state, as a member that heard of the leave would get it:
            // the tombstone, then (after the 3 s retention) no entry at all.
            let collected = poll(timeout: 30) { (try? c.pushPull(RingDesc(), to: a.gossipPort).ring.instances[b.id]) == nil }
            try #require(collected, "A kept B's tombstone past the retention:\n\(ring.report())")
            let reply = try c.pushPull(stale, to: a.gossipPort)
            #expect(reply.ring.graves[b.id] != nil, "A answered without B's grave: \(reply.ring.graves)")
            let ack = try c.delta(RingDesc([try #require(stale.member(b.id))]), to: a.gossipPort)
            #expect(ack.kind == .ack)
            let resurrected = poll(timeout: 6) { ring.ring(0)?.contains { $0.id == b.id } ?? true }
            #expect(!resurrected, "B came back on A:\n\(ring.report())")
            stale.merge(reply.ring)
            #expect(stale.member(b.id) == nil, "A's answer did not remove B from C's copy")
            #expect(ring.sees(0, allActive: [a.id]), "\(ring.report())")
        }

        /// kill -9 and restart with the same ID and data directory: ACTIVE
        /// again with the same 128 tokens, on its own ring and on its peers'.
        /// Either while its peers still hold its entry (UNHEALTHY), or after
        /// they forgot it (then the tokens file alone keeps the tokens).
        @Test(arguments: [false, true])
        func aNodeKilledAndRestartedKeepsItsTokens(forgottenFirst: Bool) throws {
            let ring = TestRing("restart", size: 3)
            try ring.startAll()
            try #require(ring.waitConverged(), "\(ring.report())")
            let node = 2
            let id = ring.members[node].id
            let before = try #require(ring.ring(0)?.first { $0.id == id }?.tokens)
            #expect(before.count == 128)
            #expect(ring.ring(node)?.first { $0.id == id }?.tokens == before)
            ring.members[node].process?.stop(SIGKILL)
            let seenDown = poll(timeout: 30) {
                guard let shards = ring.ring(0) else { return false }
                let entry = shards.first { $0.id == id }
                return forgottenFirst ? entry == nil : entry?.state == "UNHEALTHY"
            }
            try #require(seenDown, "\(ring.report())")
            try ring.start(node)
            try #require(ring.waitConverged(), "did not come back:\n\(ring.report())")
            for index in ring.members.indices {
                #expect(ring.ring(index)?.first { $0.id == id }?.tokens == before, "tokens on \(ring.members[index].id) changed")
            }
        }

        /// `--unregister-on-shutdown false` (Mimir's StatefulSet setting): a
        /// SIGTERMed node stays in its peers' rings as LEAVING, comes back
        /// ACTIVE with the same tokens, and `POST /ingester/shutdown` still
        /// removes it for good.
        @Test func aNodeKeptInTheRingOnShutdownComesBackWithItsTokens() throws {
            let ring = TestRing("keep", size: 2, flags: ["--unregister-on-shutdown", "false", "--auto-forget-periods", "0"])
            try ring.startAll()
            try #require(ring.waitConverged(), "\(ring.report())")
            let id = ring.members[1].id
            let before = try #require(ring.ring(0)?.first { $0.id == id }?.tokens)
            #expect(ring.members[1].process?.stop(SIGTERM) == 0)
            #expect(ring.members[1].output.contains("keeping this instance's entry (LEAVING)"))
            // Still listed, LEAVING until its heartbeat goes stale, then UNHEALTHY; never dropped.
            let kept = poll(timeout: 8) { ring.ring(0)?.first { $0.id == id }?.state == "UNHEALTHY" }
            #expect(kept, "\(ring.report())")
            try ring.start(1)
            try #require(ring.waitConverged(), "\(ring.report())")
            #expect(ring.ring(0)?.first { $0.id == id }?.tokens == before)

            // The shutdown endpoint means "going away": it leaves the ring.
            let reply = HTTP.request(ring.members[1].baseURL + "/ingester/shutdown", method: "POST", timeout: 30)
            #expect(reply?.status == 204, "\(String(describing: reply?.text))")
            #expect(poll(timeout: 15) { ring.ring(0).map { !$0.contains { $0.id == id } } ?? false }, "\(ring.report())")
        }
    }
}
