#!/usr/bin/env bash
# Builds the C core with AddressSanitizer + UBSan, runs the deterministic
# corruption sweeps, then each libFuzzer target for FUZZ_SECONDS (default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
out=.build-fuzz
mkdir -p "$out"
seconds=${FUZZ_SECONDS:-20}
cc=${CLANG:-clang}
flags=(-g -O1 -std=c11 -Wall -Wextra -ISources/CStorage/include -fno-omit-frame-pointer
       -fsanitize=address,undefined -fno-sanitize-recover=undefined -fuse-ld=lld)
core=(Sources/CStorage/*.c)
libs=(-llz4 -lsnappy -lpthread)

status=0
for sweep in Tests/Fuzz/*_sweep.c; do
    name=$(basename "$sweep" .c)
    "$cc" "${flags[@]}" "${core[@]}" "$sweep" "${libs[@]}" -o "$out/$name"
    echo "== $name (ASan+UBSan)"
    "$out/$name" || status=1
done
for target in Tests/Fuzz/fuzz_*.c; do
    name=$(basename "$target" .c)
    "$cc" "${flags[@]}" -fsanitize=fuzzer "${core[@]}" "$target" "${libs[@]}" -o "$out/$name"
    mkdir -p "$out/corpus-$name"
    echo "== $name: libFuzzer for ${seconds}s"
    if "$out/$name" -max_total_time="$seconds" -print_final_stats=1 "$out/corpus-$name" > "$out/$name.log" 2>&1; then
        grep -E 'stat::number_of_executed_units' "$out/$name.log" | sed 's/^/   /'
    else
        tail -40 "$out/$name.log"
        status=1
    fi
done
exit $status
