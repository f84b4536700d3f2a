#!/usr/bin/env bash
# The whole test suite: sanitizer sweeps and fuzzers over the C core, then every
# Swift test (unit, golden, corruption and the promtool interop tests).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/fuzz.sh
swift build --build-tests
swift test --skip-build --disable-xctest
# Property-based HTTP tests from docs/api/openapi.yaml against the debug build's node.
scripts/schemathesis.sh .build/debug/muninn
