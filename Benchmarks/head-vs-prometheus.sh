#!/usr/bin/env bash
# Runs the head benchmarks of Muninn and Prometheus 2.42 on the same work in one
# run and prints both figures and their ratio:
#   append  — `promtool tsdb bench write` (N series × M scrapes, WAL on) vs
#             `muninn bench head append` on the same label file: samples per CPU-second
#   memory  — 1M series × 10 samples: max RSS per series (both processes), and
#             Muninn's RSS growth per series
#   replay  — 300k series × 14 samples written by each, then reopened: replay time
#             (Prometheus: its own "WAL replay completed" log line) and peak/steady RSS
#   query   — Muninn only: select one series among 1M, decode everything
# Usage: Benchmarks/head-vs-prometheus.sh [runs]   (default 3 runs of append)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
scripts/install-deps.sh
swift build -c release --scratch-path .build-release --product muninn >/dev/null
M=$PWD/.build-release/release/muninn
work=$(mktemp -d /tmp/muninn-headbench.XXXXXX)
trap 'rm -rf "$work"; [ -n "${prom_pid:-}" ] && kill "$prom_pid" 2>/dev/null || true' EXIT

# N label sets: testdata's 20k file, repeated with a bench_replica label (the
# same expansion `muninn bench head` does internally).
labels() {
    python3 - "$1" testdata/series-20k.json > "$work/labels-$1.json" <<'PY'
import json, sys
n = int(sys.argv[1]); base = [l for l in open(sys.argv[2]) if l.strip()]
for i in range(n):
    d = json.loads(base[i % len(base)])
    if i >= len(base): d["bench_replica"] = str(i // len(base))
    print(json.dumps(d, separators=(",", ":")))
PY
    echo "$work/labels-$1.json"
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { python3 -c "print(f'{float($1)/float($2):.2f}')"; }
kv() { grep "^$1=" | cut -d= -f2; }

echo "== append: 20000 series x 1000 scrapes, WAL on"
l20k=$(labels 20000)
for run in $(seq "$runs"); do
    rm -rf "$work/pbw"
    out=$( { /usr/bin/time -f 'cpu %U %S' promtool tsdb bench write --metrics=20000 --scrapes=1000 --out="$work/pbw" "$l20k"; } 2>&1 )
    total=$(echo "$out" | sed -n 's/.*total samples: \([0-9]*\).*/\1/p')
    cpu=$(echo "$out" | awk '/^cpu /{print $2+$3}')
    prom=$(python3 -c "print(int($total/$cpu))")
    ours=$("$M" bench head append --labels "$l20k" --series 20000 --scrapes 1000 | kv samples_per_cpu_second)
    echo "run $run: prometheus $prom samples/cpu-s ($total samples, ${cpu}s) | muninn $ours samples/cpu-s"
    echo "$prom" >> "$work/append-prom"; echo "$ours" >> "$work/append-ours"
done
p=$(median < "$work/append-prom"); o=$(median < "$work/append-ours")
echo "append median: prometheus $p, muninn $o samples per CPU-second; muninn/prometheus = $(ratio "$o" "$p")"

echo "== memory: 1000000 series x 10 samples"
l1m=$(labels 1000000)
rm -rf "$work/pbw"
prom_kb=$( { /usr/bin/time -f 'maxrss %M' promtool tsdb bench write --metrics=1000000 --scrapes=10 --out="$work/pbw" "$l1m" >/dev/null; } 2>&1 | awk '/^maxrss/{print $2}')
ours_out=$( { /usr/bin/time -f 'maxrss %M' "$M" bench head memory --labels "$l1m" --series 1000000 --samples 10; } 2>&1 )
ours_kb=$(echo "$ours_out" | awk '/^maxrss/{print $2}')
growth=$(echo "$ours_out" | kv bytes_per_series)
echo "max RSS per series: prometheus $((prom_kb * 1024 / 1000000)) B, muninn $((ours_kb * 1024 / 1000000)) B (ratio $(ratio "$ours_kb" "$prom_kb")); muninn RSS growth while ingesting: $growth B/series"

echo "== replay: 300000 series x 14 samples"
l300k=$(labels 300000)
rm -rf "$work/pbw" "$work/ours"
promtool tsdb bench write --metrics=300000 --scrapes=14 --out="$work/pbw" "$l300k" >/dev/null 2>&1
printf 'global: {scrape_interval: 1h}\n' > "$work/prom.yml"
port=$((20000 + RANDOM % 20000))
prometheus --config.file="$work/prom.yml" --storage.tsdb.path="$work/pbw/storage" \
    --web.listen-address="127.0.0.1:$port" > "$work/prom.log" 2>&1 &
prom_pid=$!
for _ in $(seq 600); do
    curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1 && break
    sleep 0.05
done
prom_replay=$(sed -n 's/.*WAL replay completed.*total_replay_duration=\([0-9.]*[mµ]*s\).*/\1/p' "$work/prom.log")
prom_hwm=$(awk '/VmHWM/{print $2}' /proc/$prom_pid/status); prom_rss=$(awk '/VmRSS/{print $2}' /proc/$prom_pid/status)
kill "$prom_pid"; wait "$prom_pid" 2>/dev/null || true; prom_pid=
prom_s=$(python3 -c "
v='$prom_replay'
print(float(v[:-2])/1000 if v.endswith('ms') else float(v[:-2])/1e6 if v.endswith('µs') else float(v[:-1]))")
"$M" bench head build --labels "$l300k" --series 300000 --samples 14 --dir "$work/ours" >/dev/null
ours_out=$("$M" bench head replay --dir "$work/ours" 2>/dev/null)
ours_s=$(echo "$ours_out" | kv replay_seconds)
echo "replay: prometheus ${prom_s}s (peak/steady RSS $(ratio "$prom_hwm" "$prom_rss")) | muninn ${ours_s}s (peak/steady RSS $(echo "$ours_out" | kv peak_over_steady)); prometheus/muninn = $(ratio "$prom_s" "$ours_s")x faster"

echo "== query: 1000000 series x 10 samples (muninn)"
"$M" bench head query --labels "$l1m" --series 1000000 --samples 10 2>/dev/null
