#!/usr/bin/env bash
# Push and /ready latency of a real `muninn node` before and during
# `POST /ingester/flush` of a large head (`muninn bench flush`, release build):
# p50/p99/max of each, flush duration, samples/s pushed in each phase. The load
# generator shares the machine with the node, so the load average is printed
# with the figures.
# Usage: Benchmarks/flush-latency.sh [series]   (default 1000000)
#   NODE=/path/to/muninn runs that build as the node (e.g. an older commit's, to compare).
#   SCRATCH=DIR builds in DIR instead of .build-release (an existing release build folder).
set -euo pipefail
cd "$(dirname "$0")/.."
series=${1:-1000000}
scratch=${SCRATCH:-.build-release}
swift build -c release --scratch-path "$scratch" --product muninn >/dev/null
M=$PWD/$scratch/release/muninn
echo "load before: $(uptime)"
"$M" bench flush --labels testdata/series-20k.json --series "$series" ${NODE:+--node "$NODE"}
echo "load after: $(uptime)"
