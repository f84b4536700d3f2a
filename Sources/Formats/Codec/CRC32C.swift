import CStorage
import Foundation

/// CRC-32C (Castagnoli), the checksum of every TSDB and WAL structure.
/// Uses the SSE4.2 instruction when the CPU has it. Safe to call concurrently.
public enum CRC32C {
    /// Checksum of `bytes`, continuing from `seed` (0 starts a new checksum).
    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        cs_crc32c(seed, bytes.baseAddress, bytes.count)
    }

    public static func checksum<C: ContiguousBytes>(_ bytes: C, seed: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, seed: seed) }
    }

    /// The portable table path, for tests and benchmarks.
    public static func softwareChecksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        cs_crc32c_sw(seed, bytes.baseAddress, bytes.count)
    }

    /// The hardware path (falls back to software on CPUs without SSE4.2).
    public static func hardwareChecksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        cs_crc32c_hw(seed, bytes.baseAddress, bytes.count)
    }
}
