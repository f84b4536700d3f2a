import CStorage
import TestSupport
import Testing

@Suite struct CRC32CTests {
    @Test func knownAnswer() {
        let input = Array("123456789".utf8)
        #expect(cs_crc32c(0, input, input.count) == 0xE306_9283)
        #expect(cs_crc32c_sw(0, input, input.count) == 0xE306_9283)
        #expect(cs_crc32c_hw(0, input, input.count) == 0xE306_9283)
        #expect(cs_crc32c(0, nil, 0) == 0)
    }

    @Test func hardwarePathIsUsedOnThisMachine() {
        // Every x86-64 machine we deploy on has SSE4.2; if this fails the fast
        // path silently went missing.
        #if arch(x86_64)
            #expect(cs_crc32c_hw_available() == 1)
        #endif
    }

    @Test func hardwareAndSoftwareAgreeOnEveryLengthAndAlignment() {
        var rng = SplitMix64(seed: 42)
        let buf = (0..<(4096 + 16)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        buf.withUnsafeBytes { raw in
            for align in 0..<8 {
                for len in 0...4096 {
                    let p = raw.baseAddress! + align
                    let hw = cs_crc32c_hw(0, p, len)
                    let sw = cs_crc32c_sw(0, p, len)
                    if hw != sw { Issue.record("len \(len) align \(align): hw \(hw) sw \(sw)"); return }
                }
            }
        }
    }

    @Test func largeBuffersUseTheThreeStreamPathAndAgree() {
        var rng = SplitMix64(seed: 7)
        let buf = (0..<200_000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        for len in [768, 769, 24_575, 24_576, 24_577, 49_152 + 768 + 5, 200_000] {
            #expect(cs_crc32c_hw(0, buf, len) == cs_crc32c_sw(0, buf, len), "len \(len)")
        }
    }

    @Test func seedChainsAcrossCalls() {
        let a = Array("hello, ".utf8), b = Array("world".utf8)
        #expect(cs_crc32c(cs_crc32c(0, a, a.count), b, b.count) == cs_crc32c(0, a + b, a.count + b.count))
    }
}
