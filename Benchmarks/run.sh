#!/usr/bin/env bash
# Release-build benchmarks of the C core through the Engine API, on the real data
# in testdata/. Prints package-benchmark's table (custom metrics carry the
# per-sample and per-second figures).
set -euo pipefail
cd "$(dirname "$0")"
../scripts/install-deps.sh
swift package --scratch-path ../.build-bench --allow-writing-to-package-directory benchmark "$@"
