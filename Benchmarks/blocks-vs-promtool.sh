#!/usr/bin/env bash
# `muninn blocks` against promtool 2.42 on the same block, in one run:
#   dump    — `muninn blocks dump BLOCK` vs `promtool tsdb dump DB` (DB = the block plus an
#             empty wal/, which promtool needs); both write to /dev/null. The outputs are
#             then compared (sha256 of each) — they must be identical.
#   verify  — `muninn blocks verify BLOCK` (every CRC, chunk decode, index invariants) vs
#             `promtool tsdb analyze --extended DB` (promtool's closest: reads the index
#             and decodes every chunk).
# The block: N series (default 1,000,000; testdata's 20k label sets repeated with a
# bench_replica label) x M samples 15 s apart (default 10), written by muninn's head
# flush (`muninn bench head build --flush`), whose files are byte-identical to
# promtool's for the same samples. Wall and CPU (user+sys) seconds per tool, ratios.
# Usage: Benchmarks/blocks-vs-promtool.sh [series] [samples]
set -euo pipefail
cd "$(dirname "$0")/.."
series=${1:-1000000}
samples=${2:-10}
command -v promtool >/dev/null || scripts/install-deps.sh
swift build -c release --scratch-path .build-release --product muninn >/dev/null 2>&1 || { echo "release build failed"; exit 1; }
M=$PWD/.build-release/release/muninn
work=$(mktemp -d /tmp/muninn-blocksbench.XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "== building a block: $series series x $samples samples"
"$M" bench head build --labels testdata/series-20k.json --series "$series" --samples "$samples" \
    --dir "$work/db" --wal-compression none --flush | grep -v '^block='
block=$(find "$work/db" -mindepth 1 -maxdepth 1 -type d -regextype posix-extended \
    -regex '.*/[0-9A-HJKMNP-TV-Z]{26}' | head -1)
# promtool opens a database directory: the block and an empty wal/ (no head data).
mkdir -p "$work/prom/wal"
cp -r "$block" "$work/prom/"
"$M" blocks list "$block"
cat "$block"/index "$block"/chunks/* > /dev/null   # warm the page cache for both

# measure NAME CMD...: runs CMD, prints "NAME wall cpu", records the figures.
measure() {
    local name=$1; shift
    local t
    t=$( { /usr/bin/time -f 'TIME %e %U %S' "$@" > /dev/null; } 2>&1 | awk '/^TIME/{printf "%s %.2f\n", $2, $3+$4}')
    echo "$name $t" | tee -a "$work/times"
}
ratio() { python3 -c "print(f'{float($1)/float($2):.2f}')"; }
get() { awk -v n="$1" -v f="$2" '$1==n{print $f}' "$work/times"; }

echo "== dump"
measure promtool-dump promtool tsdb dump "$work/prom"
measure muninn-dump "$M" blocks dump "$block"
echo "dump: promtool/muninn wall $(ratio "$(get promtool-dump 2)" "$(get muninn-dump 2)")x, cpu $(ratio "$(get promtool-dump 3)" "$(get muninn-dump 3)")x"
ours=$("$M" blocks dump "$block" | sha256sum | cut -c1-16)
theirs=$(promtool tsdb dump "$work/prom" | sha256sum | cut -c1-16)
echo "dump output sha256: muninn $ours promtool $theirs $([ "$ours" = "$theirs" ] && echo IDENTICAL || echo DIFFERENT)"

echo "== verify vs analyze --extended"
measure promtool-analyze promtool tsdb analyze --extended "$work/prom"
measure muninn-verify "$M" blocks verify "$block"
echo "verify: promtool-analyze/muninn-verify wall $(ratio "$(get promtool-analyze 2)" "$(get muninn-verify 2)")x, cpu $(ratio "$(get promtool-analyze 3)" "$(get muninn-verify 3)")x"
echo "(columns above: name, wall seconds, cpu seconds; ratios > 1 mean muninn is faster)"
