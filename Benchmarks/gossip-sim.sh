#!/usr/bin/env bash
# Gossip convergence and traffic for simulated clusters (`muninn bench gossip`,
# release build): N GossipCores in one process, virtual time, no sockets, at
# 0 % and 10 % message loss. Deterministic from --seed: the figures are the
# same on any machine, only the wall_s columns differ.
# 100 and 1,000 members count 60 virtual seconds of steady state. 5,000
# members count 5 (after 2 of warm-up): every member holds a 5,000-entry ring
# and member list, so the run needs about 12 GB of memory, and a round of
# steady-state gossip moves some 5 million ring entries (minutes of CPU).
# Usage: Benchmarks/gossip-sim.sh [--skip-5000] [extra bench gossip options...]
#   SCRATCH=DIR builds in DIR instead of .build-release.
set -euo pipefail
cd "$(dirname "$0")/.."
big=1
if [[ ${1:-} == --skip-5000 ]]; then
    big=0
    shift
fi
scratch=${SCRATCH:-.build-release}
swift build -c release --scratch-path "$scratch" --product muninn >/dev/null
M=$PWD/$scratch/release/muninn
for loss in 0 10; do
    "$M" bench gossip --members 100,1000 --loss "$loss" "$@"
    echo
    if [[ $big == 1 ]]; then
        "$M" bench gossip --members 5000 --loss "$loss" --warmup-seconds 2 --steady-seconds 5 "$@"
        echo
    fi
done
