#!/usr/bin/env bash
# Builds Muninn (release) and starts it. Extra arguments go to `muninn`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product muninn
if [ $# -eq 0 ]; then
    # The node service arrives with issue #6; until then this shows the build works.
    set -- --version
fi
exec .build/release/muninn "$@"
