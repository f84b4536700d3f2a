import Foundation
import TestSupport
import Testing

extension NodeProcessSuites {
    /// A short `muninn bench chaos` (scripts/chaos.sh runs it for minutes):
    /// its node is killed, stopped and its disk filled while writers push, and
    /// every sample answered 204 must come back from remote read.
    @Suite struct ChaosBenchTests {
        @Test(.enabled(if: SmallDisk.available, "bench chaos mounts a tmpfs, which needs root"))
        func shortRunLosesNoAcknowledgedSample() throws {
            let r = try muninn(["bench", "chaos", "--duration", "20", "--seed", "1"])
            let log = "\(r.stdout.suffix(3000))\n\(r.stderr.suffix(2000))"
            #expect(r.status == 0, "\(log)")
            let totals = try #require(r.stdout.split(separator: "\n").last { $0.hasPrefix("trials=") }, "\(log)")
            let figures = BenchCommandTests.figures(String(totals))
            #expect(figures["lost"] == "0" && figures["unexpected_status"] == "0" && figures["failures"] == "0", "\(totals)")
            #expect((figures["trials"].flatMap(Int.init) ?? 0) >= 2, "20 s fit more than one fault: \(totals)")
            #expect((figures["acked"].flatMap(Int.init) ?? 0) > 0, "\(totals)")
            #expect(r.stdout.contains("seed=1 "), "the seed is printed")
        }
    }
}
