import Testing

@testable import Cluster

/// Expected values were computed outside Swift (a few lines of Python doing
/// FNV-1 byte by byte, as Mimir's `mimirpb.HashAdd32`); the first three are
/// the published FNV-1 32-bit test vectors.
@Suite struct SeriesHashTests {
    @Test func publishedFNV1Vectors() {
        #expect(SeriesHash().value == 0x811c_9dc5)
        #expect(SeriesHash(tenant: "a").value == 0x050c_5d7e)
        #expect(SeriesHash(tenant: "foobar").value == 0x31f0_b262)
    }

    @Test func seriesTokensMatchMimir() {
        let cases: [(String, [(String, String)], UInt32)] = [
            ("tenant-1", [], 0x5ecb_07f7),
            ("user-1", [("__name__", "up"), ("instance", "localhost:9090"), ("job", "prometheus")], 0x01de_5f43),
            ("anonymous", [("__name__", "http_requests_total"), ("code", "200"), ("method", "GET")], 0xd3a0_0695),
            // Bytes are UTF-8 as sent, not Unicode scalars or Characters.
            ("münchen", [("ß", "é")], 0x43db_f14d)
        ]
        for (tenant, labels, token) in cases {
            #expect(SeriesHash.token(tenant: tenant, labels: labels) == token, "\(tenant) \(labels)")
            #expect(SeriesHash.token(seed: SeriesHash(tenant: tenant), labels: labels) == token)
        }
    }

    /// Mimir hashes the strings back to back, so a name/value boundary does
    /// not change the token; order does.
    @Test func noSeparatorsButOrderMatters() {
        let split = SeriesHash.token(tenant: "t", labels: [("a", "bc")])
        #expect(split == 0xb323_0375)
        #expect(SeriesHash.token(tenant: "t", labels: [("ab", "c")]) == split)
        let sorted = SeriesHash.token(tenant: "t", labels: [("a", "1"), ("b", "2")])
        #expect(SeriesHash.token(tenant: "t", labels: [("b", "2"), ("a", "1")]) != sorted)
    }

    /// The remote-write path hashes label bytes in place in the decoded body.
    @Test func rawBytesHashLikeStrings() {
        let labels: [(String, String)] = [("__name__", "up"), ("instance", "localhost:9090"), ("job", "prometheus")]
        var body: [UInt8] = []
        var spans: [(Range<Int>, Range<Int>)] = []
        for (name, value) in labels {
            let nameRange = body.count..<body.count + name.utf8.count
            body += name.utf8
            let valueRange = body.count..<body.count + value.utf8.count
            body += value.utf8
            spans.append((nameRange, valueRange))
        }
        let seed = SeriesHash(tenant: "user-1")
        var h = seed
        body.withUnsafeBytes { raw in
            for (name, value) in spans {
                h.add(UnsafeRawBufferPointer(rebasing: raw[name]))
                h.add(UnsafeRawBufferPointer(rebasing: raw[value]))
            }
        }
        #expect(h.value == 0x01de_5f43)
        var bytes = seed
        for (name, value) in labels {
            bytes.add(Array(name.utf8))
            bytes.add(Array(value.utf8))
        }
        #expect(bytes.value == 0x01de_5f43)
    }
}
