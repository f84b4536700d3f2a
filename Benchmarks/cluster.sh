#!/usr/bin/env bash
# Real `muninn node` processes on loopback forming a gossip ring (`muninn
# bench cluster`, release build): time from launch until every node lists
# every node ACTIVE, then per leave trial (SIGTERM one node) the time until no
# remaining node lists it, the leaver's exit time, and the time for the
# restarted node to be ACTIVE everywhere again; `stuck` counts trials after
# which some node's ring was not exactly the live nodes.
# Usage: Benchmarks/cluster.sh [sizes] [leaves]   (default 3,4,5,6 and 10)
#   DROP=0.3 drops that share of every node's gossip messages.
#   SCRATCH=DIR builds in DIR instead of .build-release.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${1:-3,4,5,6}
leaves=${2:-10}
scratch=${SCRATCH:-.build-release}
swift build -c release --scratch-path "$scratch" --product muninn >/dev/null
M=$PWD/$scratch/release/muninn
echo "load before: $(uptime)"
"$M" bench cluster --nodes "$sizes" --leaves "$leaves" --drop-rate "${DROP:-0}"
echo "load after: $(uptime)"
