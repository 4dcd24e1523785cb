#!/usr/bin/env python3
"""Runs one terminal program in a private tmux pane and measures it, for
bench/whole.sh. Prints nothing but progress to stderr; writes JSON.

    measure.py --name NAME --scratch DIR --out FILE.json
               --tab LABEL=KEY ... [--tab-seconds S] [--duration S]
               [--keys Down,Up] [--key-tab KEY] [--presses 20]
               [--first-frame-runs 5] [--dead-cmd JSON] [--proxy-log FILE]
               [--refresh-ms 1000] [--env K=V ...] -- PROGRAM ARGS...

How it measures (all times from one clock, CLOCK_REALTIME, in ns):

* The pane runs a bash wrapper that blocks on a FIFO. Once `tmux pipe-pane`
  has started bench/tap.py (which timestamps every read of the pane's
  output), the FIFO is released; the wrapper notes $EPOCHREALTIME (µs) and
  execs the program. So no byte is missed and "exec" is a known instant.
* First frame: the end of the first burst of output (reads less than GAP_MS
  apart) that starts at or after the switch to the alternate screen
  (ESC[?1049h) and holds at least MIN_FRAME_BYTES bytes. Also reported: the
  first byte, and the alternate-screen switch. Resolution: the tap's read
  timestamps (µs), plus tmux's own hand-off (well under 1 ms).
* Key to frame: keys go through a tmux control-mode client (one pipe write,
  no process start). The driver waits until the pane has been silent for
  QUIET_MS, notes the time, sends the key, and takes the end of the first
  burst of output after it. Median and p90 of the presses.
* CPU: utime+stime from /proc/PID/stat (10 ms ticks) over each tab's
  steady window (the first SETTLE_S after a tab switch are left out).
* Memory: VmRSS sampled every second, VmHWM and VmRSS at the end.
* Terminal bytes: the tap's counts inside each steady window.
* HTTP: the counting proxy's log lines inside each steady window.
"""

import argparse
import bisect
import json
import os
import re
import shlex
import signal
import statistics
import subprocess
import sys
import time

GAP_MS = 15         # reads closer than this are one burst (one frame: a 200x50 frame arrives in several reads)
QUIET_MS = 60       # silence before a key press
MIN_FRAME_BYTES = 500
SETTLE_S = 2.0      # after a tab switch, before the steady window opens
PRESS_TIMEOUT_S = 5.0


def now():
    return time.time_ns()


def log(*a):
    print(f"  [{time.strftime('%H:%M:%S')}]", *a, file=sys.stderr, flush=True)


class Tail:
    """Follows tap.py's timestamp file: a list of (ns, bytes)."""

    def __init__(self, path):
        self.path = path
        self.pos = 0
        self.buf = b""
        self.chunks = []
        self.offset = 0  # bytes of output before the next chunk
        self.offsets = []

    def poll(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.pos)
                data = f.read()
        except FileNotFoundError:
            return
        self.pos += len(data)
        data = self.buf + data
        lines = data.split(b"\n")
        self.buf = lines.pop()
        for ln in lines:
            t, n = ln.split()
            if int(n):
                self.chunks.append((int(t), int(n)))
                self.offsets.append(self.offset)
                self.offset += int(n)

    def last_time(self):
        return self.chunks[-1][0] if self.chunks else 0


def bursts(chunks, gap_ns=GAP_MS * 1_000_000):
    """[(start_ns, end_ns, bytes, reads)] from [(ns, bytes)]."""
    out = []
    for t, n in chunks:
        if out and t - out[-1][1] < gap_ns:
            s, _, b, r = out[-1]
            out[-1] = (s, t, b + n, r + 1)
        else:
            out.append((t, t, n, 1))
    return out


class Pane:
    """A private tmux server (-L, -f /dev/null) with one 200x50 pane running
    the program behind a FIFO gate, and a tap on its output."""

    def __init__(self, scratch, tag, argv, env, width, height):
        self.dir = os.path.join(scratch, tag)
        os.makedirs(self.dir, exist_ok=True)
        self.sock = f"opsdeck-bench-{os.environ.get('BENCH_RUN_ID', os.getpid())}-{tag}"
        self.fifo = os.path.join(self.dir, "gate")
        os.mkfifo(self.fifo)
        self.t0_file = os.path.join(self.dir, "exec-time")
        self.bin = os.path.join(self.dir, "out.bin")
        self.ts = os.path.join(self.dir, "out.ts")
        self.env = env
        self.pid = None
        self.ctl = None
        wrapper = 'read -r _ < "$1"; printf %s "$EPOCHREALTIME" > "$2"; shift 2; exec "$@"'
        cmd = ["bash", "-c", wrapper, "gate", self.fifo, self.t0_file] + argv
        self.tmux("new-session", "-d", "-s", "main", "-x", str(width), "-y", str(height), *cmd,
                  ";", "set-option", "-g", "remain-on-exit", "on")
        tap = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tap.py")
        self.tmux("pipe-pane", "-o", "-t", "main",
                  f"exec python3 {shlex.quote(tap)} {shlex.quote(self.bin)} {shlex.quote(self.ts)}")
        deadline = time.time() + 10
        while not os.path.exists(self.ts):
            if time.time() > deadline:
                raise RuntimeError("the pipe-pane tap never started")
            time.sleep(0.005)
        self.pid, self.socket_path = self.tmux(
            "display-message", "-p", "-t", "main", "#{pane_pid} #{socket_path}").strip().split(" ", 1)
        self.pid = int(self.pid)
        self.ctl = subprocess.Popen(
            ["tmux", "-L", self.sock, "-C", "attach-session", "-t", "main", "-f", "ignore-size,no-output"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=self.env)
        self.tail = Tail(self.ts)
        self.frame_end_known = False  # set once FRAME_END has been seen in the output

    def tmux(self, *args):
        return subprocess.run(["tmux", "-L", self.sock, "-f", "/dev/null", *args], env=self.env,
                              check=True, capture_output=True, text=True).stdout

    def release(self):
        """Opens the gate: the wrapper execs the program. Returns exec time."""
        with open(self.fifo, "w") as f:
            f.write("go\n")
        deadline = time.time() + 10
        while True:
            try:
                s = open(self.t0_file).read().strip()
                if s:
                    break
            except FileNotFoundError:
                pass
            if time.time() > deadline:
                raise RuntimeError("the program was never started")
            time.sleep(0.002)
        sec, _, frac = s.partition(".")
        return int(sec) * 1_000_000_000 + int((frac + "000000")[:6]) * 1000

    def send(self, key):
        """Sends one key through the control-mode client; returns the time."""
        t = now()
        self.ctl.stdin.write(f"send-keys -t main {key}\n".encode())
        self.ctl.stdin.flush()
        return t

    def capture(self):
        return self.tmux("capture-pane", "-p", "-t", "main")

    def alive(self):
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                return f.read().split(") ", 1)[1].split()[0] not in ("Z", "X")
        except (OSError, IndexError):  # gone between open and read: ESRCH
            return False

    def dead_status(self):
        try:
            return self.tmux("display-message", "-p", "-t", "main", "#{pane_dead} #{pane_dead_status}").strip()
        except subprocess.CalledProcessError:
            return "gone"

    def close(self, quit_key="q"):
        if self.ctl and quit_key and self.alive():
            try:
                self.send(quit_key)
            except OSError:
                pass
            deadline = time.time() + 1.0
            while self.alive() and time.time() < deadline:
                time.sleep(0.01)
        if self.ctl:
            try:
                self.ctl.stdin.close()
            except OSError:
                pass
            try:
                self.ctl.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.ctl.kill()
        subprocess.run(["tmux", "-L", self.sock, "kill-server"], env=self.env, capture_output=True)
        try:
            os.unlink(self.socket_path)  # tmux leaves its socket file behind
        except (OSError, AttributeError):
            pass
        if self.pid:
            deadline = time.time() + 3
            while self.alive() and time.time() < deadline:
                time.sleep(0.02)
            if self.alive():
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def proc_cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(") ", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)


def proc_mem_kb(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0])
    return out


def first_frame(pane, t_exec, wait_s=4.0):
    """Waits for output to settle; returns first byte / alt screen / first
    frame, in ms after exec."""
    deadline = time.time() + wait_s
    while time.time() < deadline:
        time.sleep(0.05)
        pane.tail.poll()
        if pane.tail.chunks and now() - pane.tail.last_time() > 400_000_000 \
                and pane.tail.last_time() - t_exec > 0:
            # Quiet after some output: if a full frame is in, stop.
            if sum(n for _, n in pane.tail.chunks) > 2 * MIN_FRAME_BYTES:
                break
    pane.tail.poll()
    chunks = pane.tail.chunks
    data = open(pane.bin, "rb").read()
    res = {"first_byte_ms": None, "alt_screen_ms": None, "first_frame_ms": None, "first_frame_bytes": None}
    if not chunks:
        return res
    res["first_byte_ms"] = (chunks[0][0] - t_exec) / 1e6
    alt = data.find(b"\x1b[?1049h")
    start_idx = 0
    if alt >= 0:
        off = 0
        for i, (t, n) in enumerate(chunks):
            if off + n > alt:
                res["alt_screen_ms"] = (t - t_exec) / 1e6
                start_idx = i
                break
            off += n
    # ratatui ends every draw with this reset: the end of the first frame.
    sig = data.find(FRAME_END, max(alt, 0))
    if sig >= 0:
        idx = chunk_at(pane.tail.offsets, sig + len(FRAME_END) - 1)
        res["first_frame_ms"] = (chunks[idx][0] - t_exec) / 1e6
        res["first_frame_bytes"] = sig + len(FRAME_END) - max(alt, 0)
        res["frame_end"] = "ratatui reset"
        return res
    for s, e, b, _ in bursts(chunks[start_idx:]):
        if b >= MIN_FRAME_BYTES:
            res["first_frame_ms"] = (e - t_exec) / 1e6
            res["first_frame_bytes"] = b
            res["frame_end"] = "burst"
            break
    return res


def chunk_at(offsets, pos):
    """Index of the chunk that holds byte pos of the output."""
    return max(0, bisect.bisect_right(offsets, pos) - 1)


def press(pane, key, quiet_ms=QUIET_MS):
    """Returns (first_byte_ms, frame_end_ms, bytes) after sending key, or Nones."""
    tail = pane.tail
    # Wait for silence so the answer is not some other frame.
    deadline = time.time() + 3
    while time.time() < deadline:
        tail.poll()
        if now() - tail.last_time() > quiet_ms * 1_000_000:
            break
        time.sleep(0.002)
    n_before = len(tail.chunks)
    t = pane.send(key)
    end_wait = time.time() + PRESS_TIMEOUT_S
    with open(pane.bin, "rb") as f:
        while time.time() < end_wait:
            time.sleep(0.0005)
            tail.poll()
            new = [i for i in range(n_before, len(tail.chunks)) if tail.chunks[i][0] > t]
            if not new:
                continue
            first = new[0]
            if pane.frame_end_known:
                # The frame is done when ratatui's end-of-draw reset is in.
                f.seek(tail.offsets[first])
                data = f.read(tail.offset - tail.offsets[first])
                k = data.find(FRAME_END)
                if k >= 0:
                    idx = chunk_at(tail.offsets, tail.offsets[first] + k + len(FRAME_END) - 1)
                    return ((tail.chunks[first][0] - t) / 1e6, (tail.chunks[idx][0] - t) / 1e6,
                            k + len(FRAME_END))
            elif now() - tail.last_time() > GAP_MS * 1_000_000:
                b = bursts([tail.chunks[i] for i in new])[0]
                return (b[0] - t) / 1e6, (b[1] - t) / 1e6, b[2]
    return None, None, None


# ratatui's CrosstermBackend ends every draw by resetting colours and
# attributes (fg, bg, underline colour, SGR 0); nothing else in a frame
# writes SGR 0, so this marks the end of a frame in the byte stream.
FRAME_END = b"\x1b[39m\x1b[49m\x1b[59m\x1b[0m"

# What a frame with no change may still write: attribute resets, cursor
# shown/hidden/moved. A write made only of these changed no cell.
NO_CELL = re.compile(rb"\x1b\[[0-9;]*m|\x1b\[\?25[hl]|\x1b\[[0-9;]*H")


def window_stats(chunks, offsets, data, proxy_lines, windows, refresh_ms, clk):
    """Figures over the union of windows [(t_a, t_b, cpu_a, cpu_b)]."""
    secs = sum(w[1] - w[0] for w in windows) / 1e9
    ch, bs, empty = [], [], 0
    for t_a, t_b, _, _ in windows:
        idx = [i for i, c in enumerate(chunks) if t_a <= c[0] < t_b]
        ch += [chunks[i] for i in idx]
        # bursts with their bytes
        cur = None
        for i in idx:
            t, n = chunks[i]
            if cur and t - cur[1] < GAP_MS * 1_000_000:
                cur[1] = t
                cur[2] += n
            else:
                if cur:
                    bs.append(tuple(cur))
                cur = [t, t, n, offsets[i]]
        if cur:
            bs.append(tuple(cur))
    for s_, e_, n, off in bs:
        if not NO_CELL.sub(b"", data[off:off + n]):
            empty += 1
    cpu_ticks = sum(w[3] - w[2] for w in windows)
    sizes = sorted(b[2] for b in bs)
    reqs = [p for p in proxy_lines if any(w[0] <= p["t"] < w[1] for w in windows)]
    per_path = {}
    for p in reqs:
        per_path[p["path"]] = per_path.get(p["path"], 0) + 1
    refreshes = secs * 1000 / refresh_ms
    return {
        "seconds": round(secs, 2),
        "bytes": sum(n for _, n in ch),
        "bytes_per_s": sum(n for _, n in ch) / secs,
        "writes": len(bs),
        "writes_per_s": len(bs) / secs,
        "burst_bytes_min": sizes[0] if sizes else 0,
        "burst_bytes_median": statistics.median(sizes) if sizes else 0,
        "burst_bytes_max": sizes[-1] if sizes else 0,
        "writes_without_change": empty,
        "writes_without_change_per_s": empty / secs,
        "cpu_s": cpu_ticks / clk,
        "cpu_pct": 100.0 * cpu_ticks / clk / secs,
        "requests": len(reqs),
        "requests_per_refresh": len(reqs) / refreshes,
        "requests_per_refresh_by_path": {k: v / refreshes for k, v in sorted(per_path.items())},
        "distinct_queries": len({(p["path"], p["query"]) for p in reqs}),
        "response_bytes_per_refresh": sum(p["resp"] for p in reqs) / refreshes,
        "errors": sum(1 for p in reqs if not 200 <= p["status"] < 300 and p["status"] != 499),
        "abandoned": sum(1 for p in reqs if p["status"] == 499),
        "abandoned_per_refresh": sum(1 for p in reqs if p["status"] == 499) / refreshes,
        "abandoned_after_ms": statistics.median([p["us"] / 1000 for p in reqs if p["status"] == 499] or [0]),
        "heaviest": heaviest(reqs, refreshes),
        "median_request_ms": statistics.median([p["us"] / 1000 for p in reqs if p["status"] != 499] or [float("nan")]) if reqs else None,
    }


def heaviest(reqs, refreshes, k=6):
    """The queries that bring back the most bytes: (path, query, KB per
    refresh, requests per refresh, median ms)."""
    by = {}
    for p in reqs:
        by.setdefault((p["path"], p["query"]), []).append(p)
    rows = []
    for (path, q), ps in by.items():
        rows.append({"path": path, "query": q, "kb_per_refresh": sum(x["resp"] for x in ps) / 1024 / refreshes,
                     "per_refresh": len(ps) / refreshes,
                     "median_ms": statistics.median([x["us"] / 1000 for x in ps])})
    rows.sort(key=lambda r: -r["kb_per_refresh"])
    return rows[:k]


def read_proxy(path):
    out = []
    if not path or not os.path.exists(path):
        return out
    with open(path, errors="replace") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 8:
                continue
            out.append({"t": int(parts[0]), "path": parts[2], "status": int(parts[3]),
                        "resp": int(parts[5]), "us": int(parts[6]), "query": parts[7]})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--scratch", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tab", action="append", default=[], help="LABEL=KEY (KEY empty: no switch)")
    ap.add_argument("--tab-seconds", type=float, default=15)
    ap.add_argument("--duration", type=float, default=0, help="total steady time, split over the tabs")
    ap.add_argument("--keys", default="Down,Up")
    ap.add_argument("--key-tab", default="")
    ap.add_argument("--presses", type=int, default=20)
    ap.add_argument("--first-frame-runs", type=int, default=5)
    ap.add_argument("--dead-cmd", default="", help="JSON argv: the program with its sources unreachable")
    ap.add_argument("--proxy-log", default="")
    ap.add_argument("--refresh-ms", type=float, default=1000)
    ap.add_argument("--warmup", type=float, default=4)
    ap.add_argument("--width", type=int, default=200)
    ap.add_argument("--height", type=int, default=50)
    ap.add_argument("--env", action="append", default=[])
    ap.add_argument("--server-pid", action="append", default=[], help="NAME=PID: its CPU over the steady windows")
    ap.add_argument("cmd", nargs="+")
    a = ap.parse_args()

    env = dict(os.environ)
    for kv in a.env:
        k, _, v = kv.partition("=")
        env[k] = v
    env["LC_ALL"] = "C"
    env.pop("TMUX", None)
    clk = os.sysconf("SC_CLK_TCK")
    result = {"name": a.name, "cmd": a.cmd, "size": f"{a.width}x{a.height}", "refresh_ms": a.refresh_ms}
    panes = []

    def open_pane(tag, argv):
        p = Pane(a.scratch, f"{a.name}-{tag}", argv, env, a.width, a.height)
        panes.append(p)
        return p

    try:
        # 1. Time to first frame, live and (optionally) with sources dead.
        variants = [("live", a.cmd)]
        if a.dead_cmd:
            variants.append(("dead", json.loads(a.dead_cmd)))
        result["first_frame"] = {}
        for label, argv in variants:
            runs = []
            for i in range(a.first_frame_runs):
                p = open_pane(f"ff-{label}-{i}", argv)
                t_exec = p.release()
                runs.append(first_frame(p, t_exec))
                if i == 0:
                    result.setdefault("first_screens", {})[label] = p.capture()
                p.close()
                panes.remove(p)
            ok = [r["first_frame_ms"] for r in runs if r["first_frame_ms"] is not None]
            result["first_frame"][label] = {
                "runs": runs,
                "median_ms": statistics.median(ok) if ok else None,
                "min_ms": min(ok) if ok else None,
                "max_ms": max(ok) if ok else None,
                "alt_screen_median_ms": statistics.median(
                    [r["alt_screen_ms"] for r in runs if r["alt_screen_ms"] is not None] or [float("nan")]),
            }
            log(f"{a.name}: first frame ({label}) median {result['first_frame'][label]['median_ms']} ms "
                f"over {len(ok)}/{len(runs)} runs")

        # 2. The long run: every tab for a fixed time, then key presses.
        p = open_pane("main", a.cmd)
        t_exec = p.release()
        pid = p.pid
        rss_samples = []
        time.sleep(0.3)
        if not p.alive():
            raise RuntimeError(f"{a.name} exited at once: {p.dead_status()}\n{p.capture()}")
        tabs = [t.partition("=") for t in a.tab] or [("screen", "", "")]
        tabs = [(lab, key) for lab, _, key in tabs]
        per_tab = (a.duration / len(tabs)) if a.duration else a.tab_seconds
        log(f"{a.name}: pid {pid}; warming up {a.warmup:.0f} s, then {per_tab:.0f} s on each of {len(tabs)} tab(s)")

        def sleep_sampling(seconds):
            end = time.time() + seconds
            while True:
                left = end - time.time()
                if left <= 0:
                    return
                time.sleep(min(1.0, left))
                if p.alive():
                    m = proc_mem_kb(pid)
                    rss_samples.append((time.time(), m.get("VmRSS", 0)))

        servers = dict(kv.split("=", 1) for kv in a.server_pid)
        server_ticks, server_secs = {}, 0.0

        def servers_cpu():
            out = {}
            for k, v in servers.items():
                try:
                    out[k] = proc_cpu_ticks(int(v))
                except (OSError, ValueError):
                    out[k] = 0
            return out

        sleep_sampling(a.warmup)
        with open(p.bin, "rb") as f:
            p.frame_end_known = FRAME_END in f.read()
        result["frame_end"] = "ratatui's end-of-draw reset" if p.frame_end_known else "end of burst"
        windows = []
        tab_switch = []
        proxy_mark = now()
        cpu_start = proc_cpu_ticks(pid)
        t_steady = now()
        rss_start = proc_mem_kb(pid).get("VmRSS")
        screens = {}
        for label, key in tabs:
            if key:
                _, frame_ms, _ = press(p, key)
                if frame_ms is not None:
                    tab_switch.append(frame_ms)
            sleep_sampling(SETTLE_S)
            t_a, c_a, s_a = now(), proc_cpu_ticks(pid), servers_cpu()
            sleep_sampling(max(1.0, per_tab - SETTLE_S))
            t_b, c_b, s_b = now(), proc_cpu_ticks(pid), servers_cpu()
            for k in s_a:
                server_ticks[k] = server_ticks.get(k, 0) + s_b[k] - s_a[k]
            server_secs += (t_b - t_a) / 1e9
            windows.append((label, t_a, t_b, c_a, c_b))
            screens[label] = p.capture()
            if not p.alive():
                raise RuntimeError(f"{a.name} died on {label}: {p.dead_status()}")
        t_steady_end = now()
        cpu_end = proc_cpu_ticks(pid)
        mem_end_steady = proc_mem_kb(pid)

        # Key to frame.
        keys = [k for k in a.keys.split(",") if k]
        presses = []
        if keys and a.presses:
            if a.key_tab:
                press(p, a.key_tab)
                time.sleep(SETTLE_S)
            for i in range(a.presses):
                r = press(p, keys[i % len(keys)])
                presses.append(r)
                time.sleep(0.15)
        mem_end = proc_mem_kb(pid)
        p.tail.poll()
        proxy = read_proxy(a.proxy_log)
        chunks, offsets = p.tail.chunks, p.tail.offsets
        data = open(p.bin, "rb").read()

        result["tabs"] = {}
        for label, t_a, t_b, c_a, c_b in windows:
            result["tabs"][label] = window_stats(chunks, offsets, data, proxy, [(t_a, t_b, c_a, c_b)],
                                                 a.refresh_ms, clk)
        # Steady: every tab's window together (tab switches left out).
        result["steady"] = window_stats(chunks, offsets, data, proxy, [w[1:] for w in windows], a.refresh_ms, clk)
        # Whole: from the end of warm-up to the last tab, switches included.
        result["whole"] = window_stats(chunks, offsets, data, proxy, [(t_steady, t_steady_end, cpu_start, cpu_end)],
                                       a.refresh_ms, clk)
        result["tab_switch_ms"] = tab_switch
        result["server_cpu_pct"] = {k: 100.0 * v / clk / server_secs for k, v in server_ticks.items()} if server_secs else {}
        frames = [r[1] for r in presses if r[1] is not None]
        firsts = [r[0] for r in presses if r[0] is not None]
        result["keys"] = {
            "keys": keys, "on": a.key_tab, "presses": len(presses), "answered": len(frames),
            "frame_ms": frames,
            "median_ms": statistics.median(frames) if frames else None,
            "p90_ms": sorted(frames)[int(len(frames) * 0.9)] if frames else None,
            "first_byte_median_ms": statistics.median(firsts) if firsts else None,
        }
        result["memory"] = {
            "rss_start_kb": rss_start,
            "rss_end_steady_kb": mem_end_steady.get("VmRSS"),
            "rss_final_kb": mem_end.get("VmRSS"),
            "hwm_kb": mem_end.get("VmHWM"),
            "rss_mid_kb": rss_samples[len(rss_samples) // 2][1] if rss_samples else None,
            "rss_samples": [(round(t - rss_samples[0][0], 1), kb) for t, kb in rss_samples] if rss_samples else [],
        }
        result["run_seconds"] = (now() - t_exec) / 1e9
        result["screens"] = screens
        log(f"{a.name}: steady CPU {result['steady']['cpu_pct']:.2f}% · {result['steady']['bytes_per_s']:.0f} B/s · "
            f"{result['steady']['requests_per_refresh']:.2f} req/refresh · key {result['keys']['median_ms']} ms · "
            f"RSS {mem_end.get('VmRSS')} kB (HWM {mem_end.get('VmHWM')})")
        p.close()
        panes.remove(p)
    finally:
        for p in panes:
            p.close()
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
