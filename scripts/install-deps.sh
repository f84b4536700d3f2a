#!/usr/bin/env bash
# Installs the Debian packages Muninn builds and tests with, only when missing:
# the C libraries it links (lz4, zlib, snappy), Prometheus/promtool, which the
# interop tests run for real, python3-venv for scripts/schemathesis.sh, and curl,
# openssl and iproute2 for the node tests (HTTPS, a client in another network
# namespace), chromium for the ring page's browser test
# (scripts/ring-page-screenshot.sh).
set -euo pipefail
need=()
for pkg in liblz4-dev zlib1g-dev libsnappy-dev pkg-config prometheus python3-venv curl openssl iproute2 chromium; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}"
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    # The prometheus package's service must not start on its own; tests start it by hand.
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
