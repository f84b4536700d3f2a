#!/usr/bin/env bash
# The whole test suite: sanitizer sweeps and fuzzers over the C core, the Swift
# decoder tests under AddressSanitizer, then every Swift test (unit, golden,
# corruption and the promtool interop tests).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# Style: the toolchain's formatter, configured by .swift-format (fails on any difference).
swift format lint --recursive --strict Sources Tests Benchmarks Package.swift
# C warnings are errors in fuzz.sh's builds.
scripts/fuzz.sh
scripts/asan.sh   # the Swift decoder tests under AddressSanitizer (own build in .build-asan)
swift build --build-tests
swift test --skip-build --disable-xctest
# Property-based HTTP tests from docs/api/openapi.yaml against the debug build's node.
scripts/schemathesis.sh .build/debug/muninn
