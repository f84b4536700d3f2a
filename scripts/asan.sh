#!/usr/bin/env bash
# The Swift tests that feed untrusted bytes to the decoders (remote write and
# read, WAL and block corruption, XOR chunks, the XOR bit analysis), built with
# AddressSanitizer, so an over-read on the Swift side of a decoder, or in C called
# from Swift, fails the run. A separate scratch path: a sanitized build shares
# nothing with the normal one.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=.build-asan
filter='FormatsTests\.(RemoteWrite|RemoteRead|SampledResponseLimit|XORChunk|ChunkSegment|GrowOnNoSpace|CodecError)|EngineTests\.(RemoteWrite|WALCorruption|WALCrashState|BlockCorruption)|ToolsTests\.CompressionBench|CStorageTests\.XORBitExact'
# Leaks are out of scope here (runtime caches look like leaks at exit); reads
# past a buffer are what this run is for.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}
# Only the storage layers and their tests (see Package.swift).
export MUNINN_STORAGE_ONLY=1
swift build --build-tests --sanitize=address --scratch-path "$scratch"
swift test --skip-build --disable-xctest --sanitize=address --scratch-path "$scratch" --filter "$filter"
