#!/usr/bin/env bash
# The hostile-server benchmark of issue 22: opsdeck's release binary in a
# real terminal (tmux, 200x50) against a fake Prometheus and a fake
# Alertmanager (bench/endless.py) that answer every request with a chunked
# body that never ends. Records, over the run:
#
#   - peak resident memory (VmHWM) and the last VmRSS, from /proc/PID/status;
#   - CPU: utime+stime from /proc/PID/stat, at the start and the end, over
#     the wall time between (percent of one core);
#   - the time from a key press to the pane showing its tab, a few times;
#   - requests the servers got and the bytes they got out before opsdeck
#     hung up.
#
#   bench/hostile.sh                      (DURATION=60 seconds)
#
# Environment: DURATION=60, PRESSES=5, OUT= (a file the summary is also
# written to), KEEP=1 (keep the scratch directory), CONFIG= (a config file
# for opsdeck, e.g. one that sets [limits] max_body_total). Everything listens on
# 127.0.0.1 only; the scratch directory under /tmp is removed on exit.
# Needs: tmux, python3, cargo.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
DURATION=${DURATION:-60}
PRESSES=${PRESSES:-5}
OUT=${OUT:-}
scratch=$(mktemp -d /tmp/opsdeck-bench-hostile.XXXXXX)
socket="opsdeck-hostile-${scratch##*.}"
pids=()
say() { echo "hostile: $*" >&2; }

cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    tmux -L "$socket" kill-server 2>/dev/null || true
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ -n "${KEEP:-}" ]; then say "kept $scratch"; else rm -rf "$scratch"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'say interrupted; exit 130' INT
trap 'exit 143' TERM

for tool in tmux python3 cargo; do
    command -v "$tool" >/dev/null || { say "needs $tool"; exit 1; }
done

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

say "building the release binary"
(cd "$root" && cargo build --release --quiet)
opsdeck="$root/target/release/opsdeck"

prom_port=$(free_port)
am_port=$(free_port)
python3 "$here/endless.py" "$prom_port" "$scratch/prom.stats" &
pids+=($!)
python3 "$here/endless.py" "$am_port" "$scratch/am.stats" &
pids+=($!)
sleep 0.5

mkdir -p "$scratch/home/config" "$scratch/home/state"
tmux -L "$socket" -f /dev/null new-session -d -x 200 -y 50 -s main \
    env -u OPSDECK_CONFIG -u TMUX -u TMUX_PANE HOME="$scratch/home" \
    XDG_CONFIG_HOME="$scratch/home/config" XDG_STATE_HOME="$scratch/home/state" \
    "$opsdeck" --prometheus "http://127.0.0.1:$prom_port" \
    --alertmanager "http://127.0.0.1:$am_port" --audit-log "$scratch/audit.log" \
    ${CONFIG:+--config "$CONFIG"}

pid=""
for _ in $(seq 1 100); do
    pid=$(pgrep -P "$(tmux -L "$socket" display-message -p -t main '#{pane_pid}')" -x opsdeck || true)
    [ -n "$pid" ] && break
    # The pane's process is opsdeck itself when tmux runs it directly.
    pane=$(tmux -L "$socket" display-message -p -t main '#{pane_pid}')
    if [ "$(cat "/proc/$pane/comm" 2>/dev/null)" = opsdeck ]; then pid=$pane; break; fi
    sleep 0.1
done
[ -n "$pid" ] || { say "opsdeck did not start"; exit 1; }
say "opsdeck pid $pid; ${DURATION}s against endless answers"

ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
status_kb() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$pid/status"; }
screen() { tmux -L "$socket" capture-pane -p -t main; }

start_ns=$(date +%s%N)
start_ticks=$(cpu_ticks)

# Key to frame: press a tab's digit and wait for the pane to change.
latencies=()
press_every=$((DURATION / (PRESSES + 1)))
for i in $(seq 1 "$PRESSES"); do
    sleep "$press_every"
    before=$(screen)
    key=$(( (i % 5) + 1 ))
    t0=$(date +%s%N)
    tmux -L "$socket" send-keys -t main "$key"
    changed=""
    for _ in $(seq 1 2000); do
        if [ "$(screen)" != "$before" ]; then changed=1; break; fi
        sleep 0.005
    done
    t1=$(date +%s%N)
    if [ -n "$changed" ]; then
        latencies+=("$(( (t1 - t0) / 1000000 ))")
    else
        latencies+=("none")
    fi
done
elapsed_so_far=$(( ($(date +%s%N) - start_ns) / 1000000000 ))
[ "$elapsed_so_far" -lt "$DURATION" ] && sleep $((DURATION - elapsed_so_far))

end_ns=$(date +%s%N)
end_ticks=$(cpu_ticks)
hwm=$(status_kb VmHWM)
rss=$(status_kb VmRSS)
shown=$(screen)
tmux -L "$socket" send-keys -t main q
sleep 1

wall=$(python3 -c "print(($end_ns - $start_ns) / 1e9)")
cpu=$(python3 -c "print(round(100 * ($end_ticks - $start_ticks) / $ticks / $wall, 2))")
read -r prom_requests prom_bytes <"$scratch/prom.stats"
read -r am_requests am_bytes <"$scratch/am.stats"
cause=$(grep -o 'answer larger than [^,]*, not read (limits.max_body_total)' <<<"$shown" | head -1 || true)
commit=$(cd "$root" && git rev-parse --short HEAD)

summary=$(cat <<EOF
bench/hostile.sh, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit, DURATION=${DURATION}s, $(nproc) cores

| figure | value |
|---|---|
| peak resident memory (VmHWM) | $(python3 -c "print(round($hwm / 1024, 1))") MB |
| resident memory at the end (VmRSS) | $(python3 -c "print(round($rss / 1024, 1))") MB |
| CPU, utime+stime over ${wall%.*} s | ${cpu}% of a core |
| key press to its tab shown (ms, each press) | ${latencies[*]} |
| requests answered endlessly (Prometheus / Alertmanager) | $prom_requests / $am_requests |
| bytes the servers got out (Prometheus / Alertmanager) | $(python3 -c "print(round($prom_bytes / 1048576, 1))") MiB / $(python3 -c "print(round($am_bytes / 1048576, 1))") MiB |
| on screen at the end | ${cause:-(no refusal shown)} |
EOF
)
echo "$summary"
if [ -n "$OUT" ]; then echo "$summary" >"$OUT"; fi
