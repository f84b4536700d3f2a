#!/usr/bin/env bash
# Renders /ingester/ring of a real 3-node ring in headless Chromium: starts
# three `muninn node` processes gossiping on loopback (one seed), waits until
# the first lists all three ACTIVE, takes a screenshot, stops the nodes.
#
#   scripts/ring-page-screenshot.sh OUT.png [MUNINN_BINARY]   (default: the debug build)
#
# Builds nothing. Needs chromium (scripts/install-deps.sh), curl and python3.
set -euo pipefail
out=${1:?usage: scripts/ring-page-screenshot.sh OUT.png [MUNINN_BINARY]}
binary=${2:-.build/debug/muninn}
cd "$(dirname "$0")/.."
case $out in /*) ;; *) out=$OLDPWD/$out ;; esac
[ -x "$binary" ] || { echo "ring-page-screenshot.sh: no muninn binary at $binary (build first)" >&2; exit 2; }
chromium=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chromium" ] || { echo "ring-page-screenshot.sh: chromium not found: run scripts/install-deps.sh" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/muninn-ring-page.XXXXXX")
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# Six distinct free ports: HTTP and gossip per node.
read -r -a ports <<<"$(python3 -c '
import socket
socks = [socket.socket() for _ in range(6)]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))')"
seed=127.0.0.1:${ports[3]}
for i in 0 1 2; do
    "$binary" node --http-address 127.0.0.1 --http-port "${ports[$i]}" --data-dir "$work/d$i" \
        --bucket-dir "$work/b$i" --wal-fsync never --ring.store memberlist --instance-id "ingester-$((i + 1))" \
        --zone "zone-$(( i % 2 == 0 ? 1 : 2 ))" --gossip-port "${ports[$((i + 3))]}" --join "$seed" \
        --heartbeat-period 1s --heartbeat-timeout 5s >"$work/node$i.log" 2>&1 &
    pids+=($!)
done
url=http://127.0.0.1:${ports[0]}/ingester/ring

active() { curl -s --max-time 5 -H 'Accept: application/json' "$url" | grep -o '"state":"ACTIVE"' | wc -l; }
for _ in $(seq 600); do
    [ "$(active)" -eq 3 ] && break
    for i in 0 1 2; do
        kill -0 "${pids[$i]}" 2>/dev/null || { echo "node $i exited:"; cat "$work/node$i.log"; exit 1; }
    done
    sleep 0.1
done
[ "$(active)" -eq 3 ] || { echo "the ring did not list 3 ACTIVE nodes within 60 s:"; tail -20 "$work"/node*.log; exit 1; }

rm -f "$out"
# --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$work/chromium" \
    --screenshot="$out" --window-size=1400,900 "$url" >"$work/chromium.log" 2>&1 ||
    { echo "chromium failed:"; tail -20 "$work/chromium.log"; exit 1; }
[ -s "$out" ] || { echo "chromium wrote no screenshot:"; tail -20 "$work/chromium.log"; exit 1; }

for pid in "${pids[@]}"; do kill -TERM "$pid"; done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
pids=()
[ "$status" -eq 0 ] || { echo "a node did not exit cleanly on SIGTERM"; tail -20 "$work"/node*.log; exit 1; }
echo "screenshot of $url: $out ($(stat -c %s "$out") bytes)"
