#!/usr/bin/env bash
# Builds Muninn (release) and starts a node on the embedded defaults: HTTP on
# :8080, data in ./data, filesystem bucket in ./data/bucket. Extra arguments go
# to `muninn node` (see `muninn node --help`, or `--print-config`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product muninn
exec .build/release/muninn node "$@"
