#!/usr/bin/env bash
# Soak run of the WAL kill test: runs NodeTests' WALCrashTests [runs] times
# (default 50), each with a fresh MUNINN_TEST_SEED, optionally under CPU load,
# to shake out kill timings the CI run meets once in a while. A failing run
# keeps its scratch directories (inspect them with `muninn wal dump DIR`) and
# its log under $WAL_SOAK_OUT (default /tmp/wal-crash-soak), names its seed
# (MUNINN_TEST_SEED=<seed> replays the kill points) and makes the script fail.
# Prints one line per run and `runs=N failed=N`.
#   WAL_SOAK_LOAD=N   N busy loops run beside the tests (default 0)
#   WAL_SOAK_CPU=C    pin the tests and the loops to CPU C with taskset
#   WAL_SOAK_FILTER   test filter (default the whole WALCrashTests suite)
# Not part of CI (too long). The torn-commit states it found are covered
# deterministically by aTornLastCommitIsWrittenAgain and WALCrashStateTests.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-50}
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "usage: scripts/wal-crash-soak.sh [runs]" >&2; exit 2; }
load=${WAL_SOAK_LOAD:-0}
[[ $load =~ ^[0-9]+$ ]] || { echo "WAL_SOAK_LOAD must be a number" >&2; exit 2; }
filter=${WAL_SOAK_FILTER:-WALCrashTests}
out=${WAL_SOAK_OUT:-/tmp/wal-crash-soak}
pin=()
[[ -n ${WAL_SOAK_CPU:-} ]] && pin=(taskset -c "$WAL_SOAK_CPU")
mkdir -p "$out"

swift build --build-tests

loops=()
stop_loops() { for pid in "${loops[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap stop_loops EXIT
for _ in $(seq 1 "$load"); do
    "${pin[@]}" bash -c 'while :; do :; done' &
    loops+=($!)
done

failed=0
for run in $(seq 1 "$runs"); do
    seed=$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')
    scratch=$(mktemp -d "$out/run-$run-XXXX")
    if TMPDIR=$scratch MUNINN_KEEP_TEST_DIRS=1 MUNINN_TEST_SEED=$seed \
        "${pin[@]}" swift test --skip-build --disable-xctest --filter "$filter" >"$scratch/log" 2>&1; then
        echo "run $run seed $seed: ok"
        rm -rf "$scratch"
    else
        failed=$((failed + 1))
        echo "run $run seed $seed: FAILED (log and WAL directories in $scratch)"
        grep -E '✘|↳ seed' "$scratch/log" | head -20 || true
    fi
done
echo "runs=$runs failed=$failed"
[[ $failed == 0 ]]
