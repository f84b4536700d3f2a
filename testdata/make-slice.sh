#!/usr/bin/env bash
# Cuts testdata/real-1s.txt.gz out of the full 1 s capture (real-1s.txt.gz,
# 4,340,496 samples, 15 MB; see testdata/README.md): every series, but only the
# last 6 minutes before the scraper's restart and the first 6 minutes after it.
# Keeping both sides of the restart keeps the gap, the 2 h block boundary inside
# it, the series that exist on one side only, and the summaries that report NaN.
# Lines stay as they were (promtool dump format, series after series, time order).
# Usage: testdata/make-slice.sh FULL-real-1s.txt.gz
set -euo pipefail
src=${1:?usage: testdata/make-slice.sh PATH/TO/full/real-1s.txt.gz}
out="$(cd "$(dirname "$0")" && pwd)/real-1s.txt.gz"
end1=1795304396122     # last timestamp of the first stretch (ms)
start2=1795307199129   # first timestamp of the second stretch (ms)
minutes=6
# Timestamps are below 2^53, so awk's doubles compare them exactly.
gzip -dc "$src" | awk -v e1="$end1" -v s2="$start2" -v w="$minutes" '
    BEGIN { lo = e1 - w * 60000; hi = s2 + w * 60000 }
    { t = $NF + 0; if ((t > lo && t <= e1) || (t >= s2 && t < hi)) print }' | gzip -9 -n > "$out.tmp"
mv "$out.tmp" "$out"
gzip -dc "$out" | awk -v out="$out" '{ n++; s = $0; sub(/ [^ ]+ [^ ]+$/, "", s); if (s != last) { series++; last = s } }
    END { printf "%s: %d series, %d samples\n", out, series, n }'
