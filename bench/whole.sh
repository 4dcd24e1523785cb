#!/usr/bin/env bash
# The whole-program benchmark of issue 6: opsdeck's release binary in a real
# terminal (tmux, 200x50) against a real Prometheus fed by a Pushgateway,
# side by side with grafatui on the same server, terminal size and refresh.
#
#   bench/whole.sh [SERVICES...]          (default: 10 1000 10000)
#
# Environment (all optional):
#   TAB_SECONDS=12     time on each of opsdeck's 5 tabs (the first 2 s after a
#                      switch are left out of the steady figures)
#   DURATION=          total steady time per program instead (e.g. 600 for the
#                      10-minute memory budget); split over the tabs
#   GRAFATUI_SECONDS=  grafatui's steady time (default 2 x TAB_SECONDS, or DURATION)
#   PRESSES=20         key presses for key-to-frame latency
#   FIRST_FRAME_RUNS=5 starts for time to first frame (live and dead sources each)
#   SCRAPE=5s          Prometheus' scrape interval of the Pushgateway
#   PUSH_EVERY=5       seconds between pushes of the estate
#   REFRESH_MS=1000    refresh of both programs
#   GRAFATUI=1         0 skips grafatui (no install, no comparison)
#   GRAFATUI_TOPK=20   grafatui's panels show the top K services (0: every series)
#   OUT=bench/last-run.md  where the table goes (also printed)
#   CONFIG_EXTRA=      appended to opsdeck's config file, with \n for new
#                      lines (e.g. '[thresholds]\nanomaly_deviations = 0')
#   KEEP=1             keep the scratch directory (logs, raw terminal output)
#
# Everything listens on 127.0.0.1 only and runs in a scratch directory under
# /tmp, removed on exit (also on Ctrl-C). grafatui is installed once with
# `cargo install grafatui --locked --root ~/.cache/opsdeck-bench/grafatui`,
# outside the repository. Needs: prometheus, prometheus-pushgateway, tmux,
# python3, curl, cargo.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
sizes=("$@")
declare -A user_set
for v in TAB_SECONDS DURATION GRAFATUI_SECONDS PRESSES FIRST_FRAME_RUNS SCRAPE PUSH_EVERY REFRESH_MS GRAFATUI GRAFATUI_TOPK; do
    if [ -n "${!v:-}" ]; then user_set[$v]=1; fi
done
[ ${#sizes[@]} -gt 0 ] || sizes=(10 1000 10000)
TAB_SECONDS=${TAB_SECONDS:-12}
DURATION=${DURATION:-}
PRESSES=${PRESSES:-20}
FIRST_FRAME_RUNS=${FIRST_FRAME_RUNS:-5}
SCRAPE=${SCRAPE:-5s}
PUSH_EVERY=${PUSH_EVERY:-5}
REFRESH_MS=${REFRESH_MS:-1000}
GRAFATUI=${GRAFATUI:-1}
GRAFATUI_TOPK=${GRAFATUI_TOPK:-20}
if [ -n "$DURATION" ]; then
    GRAFATUI_SECONDS=${GRAFATUI_SECONDS:-$DURATION}
else
    GRAFATUI_SECONDS=${GRAFATUI_SECONDS:-$((2 * TAB_SECONDS))}
fi
OUT=${OUT:-$here/last-run.md}
grafatui_root="$HOME/.cache/opsdeck-bench/grafatui"
grafatui_bin="$grafatui_root/bin/grafatui"
command_line="bench/whole.sh ${sizes[*]}"
for v in GRAFATUI_TOPK GRAFATUI REFRESH_MS PUSH_EVERY SCRAPE FIRST_FRAME_RUNS PRESSES GRAFATUI_SECONDS DURATION TAB_SECONDS; do
    if [ -n "${user_set[$v]:-}" ]; then command_line="$v=${!v} $command_line"; fi
done

scratch=$(mktemp -d /tmp/opsdeck-bench-whole.XXXXXX)
# measure.py names its private tmux servers after this, so cleanup finds them.
export BENCH_RUN_ID=${scratch##*.}
pids=()
say() { echo "bench: $*" >&2; }

stop_servers() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    pids=()
}
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_servers
    # Private tmux servers of measure.py (it closes its own; this is for Ctrl-C).
    local s
    for s in "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/opsdeck-bench-$BENCH_RUN_ID-"*; do
        [ -S "$s" ] || continue
        tmux -S "$s" kill-server 2>/dev/null || true
        rm -f "$s"
    done
    if [ -n "${KEEP:-}" ]; then say "kept $scratch"; else rm -rf "$scratch"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'say interrupted; exit 130' INT
trap 'exit 143' TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_ready() {
    local _
    for _ in $(seq 1 300); do
        curl -fs "$1" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    say "$1 never became ready"
    exit 1
}

# promql EXPR -> the first value of an instant query, or "none".
promql() {
    curl -fsG "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$1" |
        python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "none")'
}

for tool in prometheus prometheus-pushgateway tmux python3 curl cargo; do
    command -v "$tool" >/dev/null || { say "needs $tool (apt-get install prometheus prometheus-pushgateway tmux)"; exit 1; }
done

say "building the release binary"
(cd "$root" && cargo build --release --quiet)
opsdeck="$root/target/release/opsdeck"

if [ "$GRAFATUI" = 1 ]; then
    if [ ! -x "$grafatui_bin" ]; then
        say "installing grafatui into $grafatui_root (once)"
        (cd /tmp && cargo install grafatui --locked --quiet --root "$grafatui_root")
    fi
    grafatui_version=$("$grafatui_bin" --version 2>/dev/null | head -1)
fi

results=()
failed=0
for n in "${sizes[@]}"; do
    say "=== $n services ==="
    d="$scratch/n$n"
    load_start=$(cut -d' ' -f1-3 /proc/loadavg)
    mkdir -p "$d/home/.config" "$d/home/.local/share" "$d/home/.local/state" "$d/home/.cache"
    prom_port=$(free_port)
    pg_port=$(free_port)
    dead_port=$(free_port) # nothing listens here: Alertmanager, and the "sources dead" start
    cat >"$d/prometheus.yml" <<YML
global:
  scrape_interval: $SCRAPE
  evaluation_interval: $SCRAPE
scrape_configs:
  - job_name: pushgateway
    honor_labels: true
    scrape_timeout: $SCRAPE
    static_configs:
      - targets: ["127.0.0.1:$pg_port"]
YML
    prometheus --config.file="$d/prometheus.yml" --storage.tsdb.path="$d/prom" \
        --web.listen-address="127.0.0.1:$prom_port" --storage.tsdb.retention.time=1d \
        >"$d/prometheus.log" 2>&1 &
    pids+=($!)
    prom_pid=$!
    # No consistency check: with it, every PUT re-gathers every group, and
    # pushing 10,000 services in 20 groups took 20 s of a core on 2 cores.
    prometheus-pushgateway --web.listen-address="127.0.0.1:$pg_port" --persistence.file= \
        --push.disable-consistency-check >"$d/pushgateway.log" 2>&1 &
    pids+=($!)
    pg_pid=$!
    wait_ready "http://127.0.0.1:$prom_port/-/ready"
    wait_ready "http://127.0.0.1:$pg_port/-/ready"

    say "pushing the estate every ${PUSH_EVERY}s"
    python3 "$here/estate.py" "http://127.0.0.1:$pg_port" "$n" --every "$PUSH_EVERY" --stats "$d/push.stats" \
        2>"$d/estate.log" &
    pids+=($!)
    # Ready when every service's counters are in and rate() has two samples.
    t_wait=$(date +%s)
    while :; do
        have=$(promql "count(rate(http_requests_total{code=\"200\"}[1m]) > 0)" 2>/dev/null || echo none)
        [ "$have" = "$n" ] && break
        if [ $(($(date +%s) - t_wait)) -gt 180 ]; then
            say "Prometheus never had rates for $n services (had: $have); see $d/*.log"
            tail -5 "$d/estate.log" "$d/prometheus.log" >&2 || true
            exit 1
        fi
        sleep 1
    done
    say "Prometheus has rates for $n services after $(($(date +%s) - t_wait)) s"

    # opsdeck: private HOME and XDG directories, refresh in its config file.
    oh="$d/home"
    mkdir -p "$oh/.config/opsdeck"
    printf 'refresh = "%sms"\n%b\n' "$REFRESH_MS" "${CONFIG_EXTRA:-}" >"$oh/.config/opsdeck/config.toml"
    o_proxy=$(free_port)
    python3 "$here/proxy.py" "$o_proxy" "http://127.0.0.1:$prom_port" "$d/proxy-opsdeck.log" 2>"$d/proxy-opsdeck.err" &
    pids+=($!)
    o_proxy_pid=$!
    wait_ready "http://127.0.0.1:$o_proxy/-/ready"
    : >"$d/proxy-opsdeck.log"
    common=(--alertmanager "http://127.0.0.1:$dead_port" --audit-log "$d/audit.log")
    live=("$opsdeck" --prometheus "http://127.0.0.1:$o_proxy" "${common[@]}")
    dead=("$opsdeck" --prometheus "http://127.0.0.1:$dead_port" "${common[@]}")
    dead_json=$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "${dead[@]}")
    envs=(--env "HOME=$oh" --env "XDG_CONFIG_HOME=$oh/.config" --env "XDG_DATA_HOME=$oh/.local/share"
        --env "XDG_STATE_HOME=$oh/.local/state" --env "XDG_CACHE_HOME=$oh/.cache")
    if [ -n "$DURATION" ]; then say "opsdeck: ${DURATION}s over its 5 tabs"; else say "opsdeck: ${TAB_SECONDS}s per tab"; fi
    python3 "$here/measure.py" --name opsdeck --scratch "$d" --out "$d/opsdeck.json" \
        --tab "1 KPIs=1" --tab "2 Health=2" --tab "3 Deploys=3" --tab "4 Backups=4" --tab "5 Incidents=5" \
        --tab-seconds "$TAB_SECONDS" ${DURATION:+--duration "$DURATION"} \
        --keys Down,Up --key-tab 2 --presses "$PRESSES" --first-frame-runs "$FIRST_FRAME_RUNS" \
        --dead-cmd "$dead_json" --proxy-log "$d/proxy-opsdeck.log" --refresh-ms "$REFRESH_MS" \
        --server-pid "prometheus=$prom_pid" --server-pid "pushgateway=$pg_pid" --server-pid "proxy=$o_proxy_pid" \
        "${envs[@]}" -- "${live[@]}" || { say "opsdeck's measurement failed at $n services"; failed=1; }
    if [ -s "$d/opsdeck.json" ]; then results+=("$d/opsdeck.json"); fi

    if [ "$GRAFATUI" = 1 ]; then
        gh="$d/ghome"
        mkdir -p "$gh/.config" "$gh/.local/share" "$gh/.local/state" "$gh/.cache" "$d/gexport"
        # grafatui's panels: the golden signals opsdeck's Health tab shows, as
        # range queries (grafatui graphs them), top K services each.
        gq=()
        for q in 'sum by (service) (rate(http_requests_total[5m]))' \
            'sum by (service) (rate(http_requests_total{code=~"5.."}[5m])) / sum by (service) (rate(http_requests_total[5m]))' \
            'histogram_quantile(0.95, sum by (service, le) (rate(http_request_duration_seconds_bucket[5m])))' \
            'histogram_quantile(0.99, sum by (service, le) (rate(http_request_duration_seconds_bucket[5m])))' \
            'max by (service) (saturation_ratio)'; do
            if [ "$GRAFATUI_TOPK" = 0 ]; then gq+=(--query "$q"); else gq+=(--query "topk($GRAFATUI_TOPK, $q)"); fi
        done
        gq+=(--query '1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[1m]))')
        g_proxy=$(free_port)
        python3 "$here/proxy.py" "$g_proxy" "http://127.0.0.1:$prom_port" "$d/proxy-grafatui.log" 2>"$d/proxy-grafatui.err" &
        pids+=($!)
        g_proxy_pid=$!
        wait_ready "http://127.0.0.1:$g_proxy/-/ready"
        : >"$d/proxy-grafatui.log"
        g=("$grafatui_bin" --prometheus-url "http://127.0.0.1:$g_proxy" --refresh-rate "$REFRESH_MS"
            --scrape-interval "$SCRAPE" --export-dir "$d/gexport" "${gq[@]}")
        gdead=("$grafatui_bin" --prometheus-url "http://127.0.0.1:$dead_port" --refresh-rate "$REFRESH_MS"
            --scrape-interval "$SCRAPE" --export-dir "$d/gexport" "${gq[@]}")
        gdead_json=$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "${gdead[@]}")
        genvs=(--env "HOME=$gh" --env "XDG_CONFIG_HOME=$gh/.config" --env "XDG_DATA_HOME=$gh/.local/share"
            --env "XDG_STATE_HOME=$gh/.local/state" --env "XDG_CACHE_HOME=$gh/.cache")
        say "grafatui: ${GRAFATUI_SECONDS}s on its dashboard"
        python3 "$here/measure.py" --name grafatui --scratch "$d" --out "$d/grafatui.json" \
            --tab "dashboard=" --tab-seconds "$GRAFATUI_SECONDS" \
            --keys "${GRAFATUI_KEYS:-Down,Up}" --presses "$PRESSES" --first-frame-runs "$FIRST_FRAME_RUNS" \
            --dead-cmd "$gdead_json" --proxy-log "$d/proxy-grafatui.log" --refresh-ms "$REFRESH_MS" \
            --server-pid "prometheus=$prom_pid" --server-pid "pushgateway=$pg_pid" --server-pid "proxy=$g_proxy_pid" \
            "${genvs[@]}" -- "${g[@]}" || { say "grafatui's measurement failed at $n services"; failed=1; }
        if [ -s "$d/grafatui.json" ]; then results+=("$d/grafatui.json"); fi
    fi

    # The server side, for the record.
    {
        echo "{"
        echo "\"services\": $n,"
        echo "\"loadavg_start\": \"$load_start\", \"loadavg_end\": \"$(cut -d' ' -f1-3 /proc/loadavg)\","
        echo "\"series\": \"$(curl -fs "http://127.0.0.1:$prom_port/api/v1/status/tsdb" |
            python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["headStats"]["numSeries"])')\","
        echo "\"scrape_seconds\": \"$(promql 'scrape_duration_seconds{job="pushgateway"}')\","
        echo "\"samples_scraped\": \"$(promql 'scrape_samples_scraped{job="pushgateway"}')\","
        echo "\"prometheus_rss_kb\": \"$(awk '/^VmRSS/ {print $2}' /proc/$prom_pid/status)\","
        python3 - "$d/push.stats" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
took = [float(r[1]) for r in rows[1:]] or [float(r[1]) for r in rows]
print(f'"push_seconds_median": {statistics.median(took):.3f}, "push_bytes": {rows[-1][2]}, "pushes": {len(rows)}')
PY
        echo "}"
    } >"$d/server.json"
    results+=("$d/server.json")
    stop_servers
done

python3 "$here/report.py" --command "$command_line" --grafatui-version "${grafatui_version:-}" \
    --tab-seconds "$TAB_SECONDS" --duration "${DURATION:-0}" --scrape "$SCRAPE" --push-every "$PUSH_EVERY" \
    --refresh-ms "$REFRESH_MS" --topk "$GRAFATUI_TOPK" --out "$OUT" "${results[@]}"
say "table written to $OUT"
if [ "$failed" != 0 ]; then
    say "some measurements failed (see above); their figures are missing from the table"
    exit 1
fi
