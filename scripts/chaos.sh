#!/usr/bin/env bash
# Soak run with faults: `muninn bench chaos` pushes continuously for [minutes]
# (default 5) while it SIGKILLs or SIGTERMs its node or fills the node's disk
# (a tmpfs it mounts, hence root), and checks after every fault that each
# sample the node acknowledged is stored. Prints a line per trial and
#   trials=N kills=N terms=N disk_full=N acked=N lost=N unexpected_status=N
# and fails when anything was lost. Not part of CI (too long); the NodeTests
# run a 20-second version. CHAOS_CONFIG=debug uses the debug build instead of
# scripts/run.sh's release build; CHAOS_SEED replays a run; further arguments
# go to `muninn bench chaos` (see its --help).
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-5}
shift || true
[[ $minutes =~ ^[1-9][0-9]*$ ]] || { echo "usage: scripts/chaos.sh [minutes] [bench chaos options]" >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "scripts/chaos.sh mounts a tmpfs: run it as root" >&2; exit 2; }
config=${CHAOS_CONFIG:-release}
scripts/install-deps.sh
swift build -c "$config" --product muninn
seed=()
[[ -n ${CHAOS_SEED:-} ]] && seed=(--seed "$CHAOS_SEED")
exec ".build/$config/muninn" bench chaos --duration $((minutes * 60)) "${seed[@]}" "$@"
