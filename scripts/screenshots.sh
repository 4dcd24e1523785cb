#!/usr/bin/env bash
# Regenerate the PNG screenshots in screenshots/ from the real binary.
#
# Builds `opsdeck` in release mode, runs `opsdeck demo --seed 7` in detached tmux
# sessions (on a private tmux server, ignoring ~/.tmux.conf), presses the tab
# keys, captures each screen with its colours and renders it with
# scripts/ansi2png.py.
#
# Usage (from anywhere): bash scripts/screenshots.sh
# Needs: cargo, tmux, Python 3 with Pillow and the DejaVu fonts; on Debian the
# script installs tmux, python3-pil and fonts-dejavu-core itself when missing.
set -euo pipefail

cd "$(dirname "$0")/.."
OUT=screenshots
BIN=target/release/opsdeck
CMD="$BIN demo --seed 7"
FONT=/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf
# Debian's python3-pil is only visible to the system Python, not to pyenv & co.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

die() { echo "screenshots.sh: $*" >&2; exit 1; }

# --- dependencies ----------------------------------------------------------
missing=()
command -v tmux >/dev/null || missing+=(tmux)
"$PY" -c 'import PIL' 2>/dev/null || missing+=(python3-pil)
[ -f "$FONT" ] || missing+=(fonts-dejavu-core)
if [ ${#missing[@]} -gt 0 ]; then
    command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get to install them"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    echo "Installing ${missing[*]} ..."
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
    PY=/usr/bin/python3
fi

# --- build -----------------------------------------------------------------
cargo build --release
[ -x "$BIN" ] || die "$BIN was not built"

# --- private tmux server ---------------------------------------------------
TMP="$(mktemp -d)"
SOCKET="$TMP/tmux.sock"  # private server: never the user's default one
CMD="$CMD --audit-log $TMP/audit.log"  # the rollback shot must not write to your own audit log
t() { tmux -S "$SOCKET" -f /dev/null "$@"; }
cleanup() {
    t kill-server 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

# start SESSION COLS ROWS [FLAGS...]: run the demo (with FLAGS) in a new
# detached session of that size.
start() {
    local session="$1" cols="$2" rows="$3"
    shift 3
    # The options must be set before the first session so its pane inherits
    # them. capture-pane reads tmux's own grid, which keeps 256-colour and RGB
    # colours exactly as the program sent them; the overrides only matter if
    # someone attaches to watch.
    t start-server \; \
        set-option -g default-terminal tmux-256color \; \
        set-option -g terminal-overrides ',*:Tc' \; \
        set-option -g remain-on-exit on \; \
        new-session -d -s "$session" -x "$cols" -y "$rows" \
            -e TERM=xterm-256color -e COLORTERM=truecolor "exec $CMD $*"
    local size
    size="$(t display-message -p -t "$session" '#{pane_width}x#{pane_height}')"
    [ "$size" = "${cols}x$rows" ] || die "session $session is $size, wanted ${cols}x$rows"
    wait_for "$session" DEMO 15
}

# wait_for SESSION TEXT SECONDS: poll the screen until TEXT shows up.
wait_for() {
    local deadline=$((SECONDS + $3))
    while [ "$SECONDS" -lt "$deadline" ]; do
        if t capture-pane -p -t "$1" | grep -qF -- "$2"; then
            return 0
        fi
        if [ "$(t display-message -p -t "$1" '#{pane_dead}')" = 1 ]; then
            echo "--- screen of session $1 ---" >&2
            t capture-pane -p -t "$1" >&2
            die "'$CMD' exited (status $(t display-message -p -t "$1" '#{pane_dead_status}')) before showing '$2'"
        fi
        sleep 0.2
    done
    echo "--- screen of session $1 ---" >&2
    t capture-pane -p -t "$1" >&2
    die "'$2' did not appear on the screen of '$CMD' within $3 s"
}

# shot SESSION NAME: capture the screen with colours and render it to OUT/NAME.png.
# -N keeps trailing spaces so backgrounds reach the right edge; no -J.
shot() {
    local cols rows
    cols="$(t display-message -p -t "$1" '#{pane_width}')"
    rows="$(t display-message -p -t "$1" '#{pane_height}')"
    t capture-pane -e -p -N -t "$1" > "$TMP/$2.ansi"
    "$PY" scripts/ansi2png.py "$TMP/$2.ansi" "$OUT/$2.png" --cols "$cols" --rows "$rows"
    echo "wrote $OUT/$2.png"
}

# key SESSION KEY: press KEY and give the program a moment to redraw.
key() {
    t send-keys -t "$1" "$2"
    sleep 1
}

mkdir -p "$OUT"

start big 120 40
for tab in 1:kpis 2:health 3:deploys 4:backups 5:incidents; do
    key big "${tab%%:*}"
    shot big "${tab%%:*}-${tab#*:}"
done
# A target read from its backup tool, selected: its detail panel under the
# table (what the repository keeps, its last check).
key big 4
for _ in 1 2 3 4 5 6 7 8 9; do
    t capture-pane -p -t big | grep -q "read from pgbackrest" && break
    key big j
done
shot big backups-tool
key big 1
key big '?'
shot big help
key big Escape

# The : prompt completing a column of the Health table, then sorted by it.
key big 2
key big :
t send-keys -t big -l "sort p"
key big Tab
shot big prompt
t send-keys -t big -l "9 desc"
key big Enter
shot big sorted
key big 1

# An action: the rollback dialog on the Deploys tab, then its output.
key big 3
key big R
shot big action-dialog
target="$(t capture-pane -p -t big | sed -n 's/.*type \([^ ]*\) to confirm.*/\1/p' | head -1)"
[ -n "$target" ] || die "the rollback dialog did not ask for a name"
t send-keys -t big -l "$target"
t send-keys -t big Tab Tab Enter
wait_for big "PLAY RECAP" 15
sleep 1
shot big action-output
key big Escape

start small 80 24
for tab in 1:kpis 2:health 5:incidents; do
    key small "${tab%%:*}"
    shot small "80x24-${tab#*:}"
done

# The war-room screen: kiosk mode, named production.
start kiosk 120 40 --kiosk --environment production
wait_for kiosk "CRITICAL INCIDENT" 15
shot kiosk kiosk

# quit SESSION: press q and check that the program exits cleanly.
quit() {
    t send-keys -t "$1" q
    for _ in $(seq 30); do
        if [ "$(t display-message -p -t "$1" '#{pane_dead}')" = 1 ]; then
            local status
            status="$(t display-message -p -t "$1" '#{pane_dead_status}')"
            [ "$status" = 0 ] || echo "warning: '$CMD' exited with status $status after q" >&2
            return 0
        fi
        sleep 0.1
    done
    echo "warning: '$CMD' in session $1 did not exit within 3 s of q" >&2
}
quit big
quit small
quit kiosk
# the EXIT trap kills the tmux server
