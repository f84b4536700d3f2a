#!/usr/bin/env bash
# The same remote-write load against Muninn, Prometheus 2.42
# (--web.enable-remote-write-receiver) and VictoriaMetrics, one after another:
# samples per receiver CPU-second (utime+stime from /proc/PID/stat) and RSS
# growth per series, with ratios. The load generator (`muninn bench push`)
# shares the machine, so only the receiver's own CPU time is counted.
# The machine is noisy, so each load runs ROUNDS times (default 3) with the
# three receivers alternating, and the ratios are of the medians.
# Usage: Benchmarks/push-vs-prometheus-vm.sh [series] [scrapes] [new-series]
#   defaults: 20000 series × 60 scrapes for throughput, 300000 new series for memory.
set -euo pipefail
cd "$(dirname "$0")/.."
series=${1:-20000}; scrapes=${2:-60}; fresh=${3:-300000}; rounds=${ROUNDS:-3}
scripts/install-deps.sh
command -v victoria-metrics >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq victoria-metrics >/dev/null; }
swift build -c release --scratch-path .build-release --product muninn >/dev/null
M=$PWD/.build-release/release/muninn
work=$(mktemp -d /tmp/muninn-pushbench.XXXXXX)
pid=
trap 'if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
hz=$(getconf CLK_TCK)
cpu() { awk -v hz="$hz" '{print ($14 + $15) / hz}' "/proc/$1/stat"; }
rss() { awk '/VmRSS/{print $2 * 1024}' "/proc/$1/status"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start() {   # name port → sets pid, url
    local name=$1 port=$2 dir; dir=$(mktemp -d "$work/$1.XXXX")
    mkdir -p "$dir"
    case $name in
    muninn) "$M" node --http-address 127.0.0.1 --http-port "$port" --data-dir "$dir" --wal-fsync 1000 > "$dir.log" 2>&1 &
            pid=$!; url="http://127.0.0.1:$port/api/v1/push"; ready="http://127.0.0.1:$port/ready" ;;
    prometheus) printf 'global: {scrape_interval: 1h}\n' > "$dir.yml"
            prometheus --config.file="$dir.yml" --storage.tsdb.path="$dir" --web.listen-address="127.0.0.1:$port" \
                --web.enable-remote-write-receiver > "$dir.log" 2>&1 &
            pid=$!; url="http://127.0.0.1:$port/api/v1/write"; ready="http://127.0.0.1:$port/-/ready" ;;
    victoria) victoria-metrics -httpListenAddr="127.0.0.1:$port" -storageDataPath="$dir" > "$dir.log" 2>&1 &
            pid=$!; url="http://127.0.0.1:$port/api/v1/write"; ready="http://127.0.0.1:$port/health" ;;
    esac
    for _ in $(seq 300); do curl -sf "$ready" >/dev/null 2>&1 && return; sleep 0.1; done
    echo "$name did not start"; cat "$dir.log"; exit 1
}

run() {   # name series scrapes → prints one line, records figures
    local name=$1 n=$2 m=$3
    start "$name" "$(free_port)"
    sleep 1
    local c0 r0 c1 r1 out
    c0=$(cpu "$pid"); r0=$(rss "$pid")
    out=$("$M" bench push --url "$url" --labels testdata/series-20k.json --series "$n" --scrapes "$m" --connections 4)
    sleep 1
    c1=$(cpu "$pid"); r1=$(rss "$pid")
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
    local samples failed
    samples=$(echo "$out" | sed -n 's/^samples=//p'); failed=$(echo "$out" | sed -n 's/^requests_failed=//p')
    python3 - "$name" "$samples" "$c0" "$c1" "$r0" "$r1" "$n" "$failed" <<'PY'
import sys
name, samples, c0, c1, r0, r1, n, failed = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]), sys.argv[8]
cpu = max(c1 - c0, 1e-9)
print(f"{name:10s} {samples} samples, receiver CPU {cpu:.2f}s → {samples/cpu:,.0f} samples/CPU-s; "
      f"RSS +{(r1-r0)/n:,.0f} B/series; failed requests: {failed}")
PY
}

echo "== throughput: $series series × $scrapes scrapes, $rounds rounds"
for _ in $(seq "$rounds"); do for r in muninn prometheus victoria; do run "$r" "$series" "$scrapes"; done; done | tee "$work/throughput"
echo "== memory: $fresh new series × 2 samples, $rounds rounds"
for _ in $(seq "$rounds"); do for r in muninn prometheus victoria; do run "$r" "$fresh" 2; done; done | tee "$work/memory"
python3 - "$work/throughput" "$work/memory" <<'PY'
import re, statistics, sys
def figures(path, pattern):
    out = {}
    for line in open(path):
        name = line.split()[0]
        m = re.search(pattern, line)
        if m: out.setdefault(name, []).append(float(m.group(1).replace(",", "")))
    return {k: statistics.median(v) for k, v in out.items()}
t = figures(sys.argv[1], r"→ ([\d,]+) samples/CPU-s")
m = figures(sys.argv[2], r"RSS \+([\d,\-]+) B/series")
print("medians: " + ", ".join(f"{k} {v:,.0f} samples/CPU-s" for k, v in t.items()))
print("medians: " + ", ".join(f"{k} {v:,.0f} B/series" for k, v in m.items()))
if "muninn" in t:
    for other in ("prometheus", "victoria"):
        if other in t: print(f"throughput muninn/{other} = {t['muninn']/t[other]:.2f}")
if "muninn" in m:
    for other in ("prometheus", "victoria"):
        if other in m and m[other] > 0: print(f"RSS per series muninn/{other} = {m['muninn']/m[other]:.2f}")
PY
