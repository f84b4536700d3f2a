import Engine
import Formats
import Foundation
import TestSupport
import Testing

/// `muninn node` configuration: bad files fail at start naming the key,
/// `--print-config` shows the effective settings, per-tenant overrides apply.
@Suite(.serialized) struct ConfigTests {
    static func write(_ yaml: String) throws -> String {
        let path = Scratch.directory("config").path + "/muninn.yml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func badConfigurationsNameTheKey() throws {
        let cases: [(String, String)] = [
            ("servr:\n  httpPort: 1\n", "servr: unknown key"),
            ("server:\n  httpPrt: 1\n", "server.httpPrt: unknown key"),
            ("server:\n  httpPort: 70000\n", "server.httpPort: must be 1-65535"),
            ("storage:\n  walFsync: sometimes\n", "storage.walFsync"),
            ("limits:\n  maxSeries: lots\n", "limits.maxSeries"),
            ("overrides:\n  team-a:\n    maxSeriez: 5\n", "overrides.team-a.maxSeriez: unknown key"),
            ("overrides:\n  \"a/b\":\n    maxSeries: 5\n", "overrides.a/b: invalid tenant ID"),
            ("overrides:\n  t: 5\n", "overrides.t: expected a mapping of limits"),
            ("overrides:\n  t:\n    outOfOrderWindowSeconds: -1\n", "overrides.t.outOfOrderWindowSeconds: must not be negative"),
            ("limits:\n  pastGracePeriodSeconds: -1\n", "limits.pastGracePeriodSeconds: must not be negative"),
            ("overrides:\n  t:\n    pastGracePeriodSeconds: 9223372036854776\n", "overrides.t.pastGracePeriodSeconds: must be at most a century"),
            ("overrides:\n  a.tmp-x:\n    maxSeries: 5\n", "overrides.a.tmp-x: invalid tenant ID"),
            ("- just\n- a list\n", "expected a mapping at the top level"),
            ("limits:\n  maxSeries: -1\n", "limits.maxSeries: must not be negative"),
            ("limits:\n  creationGracePeriodSeconds: 9223372036854775807\n", "limits.creationGracePeriodSeconds: must be at most a year"),
            ("overrides:\n  t:\n    ingestionRate: -5\n", "overrides.t.ingestionRate: must not be negative"),
            ("storage:\n  maintenanceIntervalSeconds: 0\n", "storage.maintenanceIntervalSeconds: must be positive"),
            ("storage:\n  idleFlushSeconds: -1\n", "storage.idleFlushSeconds: must be positive"),
            ("storage:\n  blockRangeSeconds: 9223372036854775807\n", "storage.blockRangeSeconds: must be at most a year"),
            ("server:\n  shutdownGraceSeconds: 0\n", "server.shutdownGraceSeconds: must be positive"),
            ("server:\n  readTimeoutSeconds: -3\n", "server.readTimeoutSeconds: must be positive"),
            ("server:\n  maxDecodedBytes: 9223372036854775807\n", "server.maxDecodedBytes: must be at most 2 GiB"),
            ("server:\n  tls:\n    certFile: /x.pem\n", "server.tls.keyFile: set both certFile and keyFile"),
            ("instanceLimits:\n  maxTenants: -1\n", "instanceLimits.maxTenants: must not be negative"),
            ("auth:\n  tenantsFile: /nonexistent/tenants.yml\n", "cannot read the tenants file"),
            ("limits:\n  outOfOrderWindowSeconds: 9223372036854775807\n", "limits.outOfOrderWindowSeconds: must be at most"),
            ("overrides:\n  t:\n    creationGracePeriodSeconds: 9223372036854775807\n", "overrides.t.creationGracePeriodSeconds: must be at most"),
            ("ring:\n  store: etcd2\n", "ring.store: must be inmemory or memberlist"),
            ("ring:\n  heartbeatPeriod: 1s\n", "ring.heartbeatPeriod: unknown key"),
            ("ring:\n  heartbeat-period: 15 seconds\n", "ring.heartbeat-period: not a duration"),
            ("ring:\n  heartbeat-timeout: 0s\n", "ring.heartbeat-timeout: must be positive"),
            ("ring:\n  join: [\"seed-without-port\"]\n", "ring.join: seed-without-port is not host:port"),
            ("ring:\n  instance-id: \"<b>x\"\n", "ring.instance-id: use letters, digits"),
            ("ring:\n  zone: \"\(String(repeating: "z", count: 64))\"\n", "ring.zone: longer than 63 bytes"),
            ("ring:\n  auto-forget-periods: -1\n", "ring.auto-forget-periods: must be 0-1000"),
            ("ring:\n  gossip-port: 0\n", "ring.gossip-port: must be 1-65535"),
            ("ring:\n  test-drop-rate: 2\n", "ring.test-drop-rate: must be between 0 and 1")
        ]
        for (yaml, message) in cases {
            let r = try muninn(["node", "--config", try Self.write(yaml), "--print-config"])
            #expect(r.status == 1, "\(yaml)")
            #expect(r.stderr.contains(message), "\(yaml): \(r.stderr)")
        }
    }

    @Test func printConfigShowsDefaultsFlagsAndOverrides() throws {
        let path = try Self.write("limits:\n  maxSeries: 100\noverrides:\n  team-a:\n    maxSeries: 5\n")
        let r = try muninn(["node", "--config", path, "--http-port", "9123", "--print-config"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("httpPort: 9123"))
        #expect(r.stdout.contains("maxSeries: 100"))
        #expect(r.stdout.contains("overrides:\n  team-a:\n    maxSeries: 5\n"))
        #expect(r.stdout.contains("dataDir: ./data"))
    }

    /// The ring section's keys are the flag names; flags override the file.
    @Test func ringFlagsAndKeysShareTheirNames() throws {
        let path = try Self.write("ring:\n  store: memberlist\n  heartbeat-period: 2s\n  join: [\"10.0.0.1:7946\"]\n  zone: zone-a\n")
        let r = try muninn(["node", "--config", path, "--heartbeat-period", "3s", "--instance-id", "ingester-1", "--print-config"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("store: memberlist"))
        #expect(r.stdout.contains("heartbeat-period: 3s"))
        #expect(r.stdout.contains("instance-id: ingester-1"))
        #expect(r.stdout.contains("zone: zone-a"))
        #expect(r.stdout.contains("- 10.0.0.1:7946"))
        let flags = try muninn(["node", "--ring.store", "memberlist", "--join", "a:1,b:2", "--leave-timeout", "9s", "--print-config"])
        #expect(flags.stdout.contains("- a:1\n") && flags.stdout.contains("- b:2\n"), "\(flags.stdout)")
        #expect(flags.stdout.contains("leave-timeout: 9s"))
    }

    /// The config restates no limit defaults: its `limits` section is TenantLimits()'s, key by key.
    @Test func defaultLimitsAreTheEngineDefaults() throws {
        let r = try muninn(["node", "--print-config"])
        #expect(r.status == 0, "\(r.stderr)")
        let d = TenantLimits()
        let expected = """
            limits:
              maxSeries: \(d.maxSeries)
              maxSeriesPerMetric: \(d.maxSeriesPerMetric)
              maxLabelNamesPerSeries: \(d.maxLabelNamesPerSeries)
              maxLabelNameLength: \(d.maxLabelNameLength)
              maxLabelValueLength: \(d.maxLabelValueLength)
              ingestionRate: \(Int(d.ingestionRate))
              ingestionBurst: \(d.ingestionBurst)
              outOfOrderWindowSeconds: \(d.outOfOrderWindow / 1000)
              creationGracePeriodSeconds: \(d.creationGracePeriod / 1000)
              pastGracePeriodSeconds: \(d.pastGracePeriod / 1000)

            """
        #expect(r.stdout.contains(expected), "\(r.stdout)")
    }

    /// team-a may hold 2 series; team-b keeps the global limit.
    @Test func perTenantOverridesApply() throws {
        let dir = temporaryDirectory("node-overrides")
        let path = try Self.write("overrides:\n  team-a:\n    maxSeries: 2\n")
        let (node, port) = try startNode(dir, extra: ["--config", path])
        defer { node.stop() }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let body = Data(
            RemoteWrite.encode(
                RemoteWriteRequest(
                    series: (0..<3).map {
                        RemoteWriteSeries(labels: Labels(["__name__": "up", "i": String($0)]), samples: [Sample(timestamp: now, value: 1)])
                    })))
        let url = "http://127.0.0.1:\(port)/api/v1/push"
        let a = HTTP.request(url, method: "POST", headers: ["X-Scope-OrgID": "team-a"], body: body)
        #expect(a?.status == 400 && a?.text.contains("max-series-per-tenant") == true, "\(a?.text ?? "")")
        #expect(a?.text.contains("2 samples stored") == true, "\(a?.text ?? "")")
        let b = HTTP.request(url, method: "POST", headers: ["X-Scope-OrgID": "team-b"], body: body)
        #expect(b?.status == 204, "\(b?.text ?? "")")
    }
}
