import BenchSupport
import Benchmark
import Formats
import Foundation

let benchmarks: @Sendable () -> Void = {
    let config = { (custom: [String]) in configuration(custom) }
    for file in ["real-1s.txt.gz", "real-15s.txt.gz"] {
        let chunks = RealData.chunks(RealData.load(file).map(\.samples))
        let total = chunks.reduce(0) { $0 + $1.count }
        let encoded = chunks.map { try! XORChunk(encoding: $0) }
        let bytes = encoded.reduce(0) { $0 + $1.bytes.count }
        let name = file.replacingOccurrences(of: ".txt.gz", with: "")

        Benchmark("XOR encode \(name)", configuration: config(["ps/sample", "mB/sample (milli-bytes)"])) { benchmark in
            let clock = ContinuousClock()
            let start = clock.now
            for chunk in chunks {
                var builder = XORChunkBuilder()
                for s in chunk { try builder.append(timestamp: s.timestamp, value: s.value) }
                blackHole(builder.byteCount)
            }
            let elapsed = seconds(clock.now - start)
            record(benchmark, "ps/sample", elapsed * 1e12 / Double(total))
            record(benchmark, "mB/sample (milli-bytes)", Double(bytes) * 1000 / Double(total))
        }

        Benchmark("XOR decode \(name)", configuration: config(["ps/sample"])) { benchmark in
            let ts = UnsafeMutableBufferPointer<Int64>.allocate(capacity: 65535)
            let vs = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: 65535)
            defer { ts.deallocate(); vs.deallocate() }
            let clock = ContinuousClock()
            let start = clock.now
            var n = 0
            for chunk in encoded { n += try chunk.decode(timestamps: ts, values: vs) }
            let elapsed = seconds(clock.now - start)
            precondition(n == total)
            record(benchmark, "ps/sample", elapsed * 1e12 / Double(total))
        }

        let concatenated = encoded.flatMap(\.bytes)
        Benchmark("LZ4 chunk bytes \(name)", configuration: config(["compress MB/s", "decompress MB/s", "mB/sample after LZ4 (milli-bytes)"])) {
            benchmark in
            let clock = ContinuousClock()
            var compressedSize = 0, compressTime = 0.0, decompressTime = 0.0
            for start in stride(from: 0, to: concatenated.count, by: 65536) {
                let piece = Array(concatenated[start..<min(start + 65536, concatenated.count)])
                let t0 = clock.now
                let packed = try LZ4.compress(piece)
                let t1 = clock.now
                blackHole(try LZ4.decompress(packed, decompressedSize: piece.count))
                let t2 = clock.now
                compressedSize += packed.count
                compressTime += seconds(t1 - t0)
                decompressTime += seconds(t2 - t1)
            }
            let mb = Double(concatenated.count) / 1e6
            record(benchmark, "compress MB/s", mb / compressTime)
            record(benchmark, "decompress MB/s", mb / decompressTime)
            record(benchmark, "mB/sample after LZ4 (milli-bytes)", Double(compressedSize) * 1000 / Double(total))
        }
    }

    let buffer = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761) }
    for (name, path) in [("hardware", CRC32C.hardwareChecksum), ("software", CRC32C.softwareChecksum)] {
        Benchmark("CRC32C \(name) 1 MiB", configuration: config(["MB/s"])) { benchmark in
            let rounds = 200
            let clock = ContinuousClock()
            let start = clock.now
            buffer.withUnsafeBytes { raw in
                for _ in 0..<rounds { blackHole(path(raw, 0)) }
            }
            let elapsed = seconds(clock.now - start)
            record(benchmark, "MB/s", Double(buffer.count * rounds) / 1e6 / elapsed)
        }
    }
}
