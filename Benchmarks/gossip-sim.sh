#!/usr/bin/env bash
# Gossip convergence and traffic for simulated clusters (`muninn bench gossip`,
# release build): N GossipCores in one process, virtual time, no sockets. Runs
# each size at 0 % and 10 % message loss; the simulation is deterministic from
# --seed, so the figures are the same on any machine (only wall_s differs).
# 5,000 members need several GB of memory (5,000 copies of a 5,000-entry ring
# and member list) and minutes of CPU.
# Usage: Benchmarks/gossip-sim.sh [sizes] [extra options...]   (default 100,1000,5000)
#   SCRATCH=DIR builds in DIR instead of .build-rel.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${1:-100,1000,5000}
shift || true
scratch=${SCRATCH:-.build-rel}
swift build -c release --scratch-path "$scratch" --product muninn >/dev/null
M=$PWD/$scratch/release/muninn
for loss in 0 10; do
    "$M" bench gossip --members "$sizes" --loss "$loss" "$@"
    echo
done
