#!/usr/bin/env bash
# How long `opsdeck status` takes against a local Prometheus holding a
# 30-day history: the release binary, run RUNS times, timed from outside.
#
#   bench/status.sh [SERVICES] [RUNS] [STEP]
#   (defaults: 10 services, 20 runs, a sample every 60 s)
#
# Starts Debian's prometheus and prometheus-alertmanager on free loopback
# ports in a scratch directory (removed at the end). The history: SERVICES
# services, each with request counters by code, a sample every STEP seconds
# for 30 days, and one 20-minute incident a day in ALERTS; every query
# opsdeck asks runs over it (the 30-day increase() is the heaviest). The
# server's work grows with SERVICES × 30 days ÷ STEP samples, and so does
# the time to backfill them: 50 services at 60 s take about nine minutes on
# two cores. A STEP over 150 s leaves the 5-minute rates without data.
set -euo pipefail

services=${1:-10}
runs=${2:-20}
step=${3:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d /tmp/opsdeck-bench-status.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_ready() {
    for _ in $(seq 1 200); do
        curl -fs "$1" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "bench: $1 never became ready" >&2
    exit 1
}

echo "bench: building the release binary" >&2
(cd "$root" && cargo build --release --quiet)

echo "bench: writing 30 days of history for $services services" >&2
python3 - "$services" "$step" >"$dir/history.om" <<'PY'
import sys, time
services, step = int(sys.argv[1]), int(sys.argv[2])
now = int(time.time()) // 60 * 60
start = now - 30 * 86400
out = sys.stdout
out.write("# TYPE http_requests counter\n")
for s in range(services):
    name = f"svc-{s:04d}"
    rate = 5 + s % 20
    bad = 0.0005 * (1 + s % 4)
    for t in range(start, now - 60, step):
        n = (t - start) * rate
        out.write(f'http_requests_total{{service="{name}",code="200"}} {n * (1 - bad):.1f} {t}\n')
        out.write(f'http_requests_total{{service="{name}",code="500"}} {n * bad:.1f} {t}\n')
out.write("# TYPE ALERTS gauge\n")
for day in range(30):
    s = start + day * 86400 + 3600
    for t in range(s, s + 1200, 60):
        out.write(f'ALERTS{{alertname="HighErrors",alertstate="firing",service="svc-0000"}} 1 {t}\n')
out.write("# EOF\n")
PY
promtool tsdb create-blocks-from openmetrics "$dir/history.om" "$dir/data" >/dev/null

prom_port=$(free_port)
am_port=$(free_port)
cat >"$dir/prometheus.yml" <<YML
global:
  scrape_interval: 15s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["127.0.0.1:$prom_port"]
YML
cat >"$dir/alertmanager.yml" <<YML
route:
  receiver: none
receivers:
  - name: none
YML
prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
    --storage.tsdb.retention.time=60d --web.listen-address="127.0.0.1:$prom_port" \
    >"$dir/prometheus.log" 2>&1 &
pids+=($!)
prometheus-alertmanager --config.file="$dir/alertmanager.yml" --storage.path="$dir/am" \
    --web.listen-address="127.0.0.1:$am_port" --cluster.listen-address= \
    >"$dir/alertmanager.log" 2>&1 &
pids+=($!)
wait_ready "http://127.0.0.1:$prom_port/-/ready"
wait_ready "http://127.0.0.1:$am_port/-/ready"

export HOME="$dir/home" XDG_CONFIG_HOME="$dir/home/.config"
bin="$root/target/release/opsdeck"
args=(status --json --prometheus "http://127.0.0.1:$prom_port" --alertmanager "http://127.0.0.1:$am_port")
# One run to warm the server's caches, and to check the answer is whole.
"$bin" "${args[@]}" >"$dir/first.json" || true
python3 - "$dir/first.json" "$services" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert len(doc["services"]) == int(sys.argv[2]), f'{len(doc["services"])} services'
assert not doc["unreachable"], doc["unreachable"]
mttr = next(k for k in doc["kpis"] if k["id"] == "mttr")
assert mttr["value"] is not None, mttr
PY

times=()
for _ in $(seq 1 "$runs"); do
    t0=$(date +%s%N)
    "$bin" "${args[@]}" >/dev/null || true
    t1=$(date +%s%N)
    times+=($(((t1 - t0) / 1000000)))
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
n=${#sorted[@]}
echo "opsdeck status --json, $services services with 30 days of history (a sample every $step s), $runs runs"
echo "  min ${sorted[0]} ms · median ${sorted[$((n / 2))]} ms · p90 ${sorted[$((n * 9 / 10))]} ms · max ${sorted[$((n - 1))]} ms"
echo "  machine: $(nproc) cores, $(uname -m), $(prometheus --version 2>&1 | head -1)"
