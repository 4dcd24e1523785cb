#!/usr/bin/env python3
"""Turns bench/whole.sh's JSON results into the markdown table (printed, and
written to --out)."""

import argparse
import datetime
import json
import os
import platform
import subprocess


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def mem_total():
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal"):
            return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "?"


def tree_state():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        head = subprocess.run(["git", "-C", root, "log", "-1", "--format=%h %s"], capture_output=True,
                              text=True).stdout.strip()
        dirty = [l for l in subprocess.run(["git", "-C", root, "status", "--porcelain", "--", "src", "Cargo.toml",
                                            "Cargo.lock"], capture_output=True, text=True).stdout.splitlines() if l]
    except OSError:
        return "unknown"
    return f"commit `{head[:70]}`" + (f", plus uncommitted changes to {len(dirty)} file(s) under src/ or Cargo.*"
                                      if dirty else ", no uncommitted changes to src/ or Cargo.*")


def version(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True)
        return (r.stdout.strip() or r.stderr.strip()).splitlines()[0]
    except (OSError, IndexError):
        return "?"


def fmt(v, unit="", digits=1):
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.{digits}f}{unit}"
    return f"{v}{unit}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "—"
    return f"{a / b:.2f}"


def mb(kb):
    return None if kb is None else kb / 1024


def worst_tab(r, key):
    tabs = r.get("tabs", {})
    if not tabs:
        return None, None
    lab = max(tabs, key=lambda t: tabs[t][key])
    return lab, tabs[lab][key]


def verdict(ok):
    return "ok" if ok else "**MISS**"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--command", required=True)
    ap.add_argument("--grafatui-version", default="")
    ap.add_argument("--tab-seconds", type=float)
    ap.add_argument("--duration", type=float)
    ap.add_argument("--scrape")
    ap.add_argument("--push-every")
    ap.add_argument("--refresh-ms", type=float)
    ap.add_argument("--topk")
    ap.add_argument("--out", required=True)
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()

    runs = {}  # n -> {"opsdeck": r, "grafatui": r, "server": s}
    order = []
    pending = {}
    for path in a.files:
        r = json.load(open(path))
        if "services" in r and "name" not in r:
            n = r["services"]
            runs.setdefault(n, {}).update(pending)
            runs[n]["server"] = r
            pending = {}
            order.append(n)
        else:
            pending[r["name"]] = r

    L = []
    w = L.append
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    w(f"# Whole-program benchmark: last run\n")
    w(f"- **When**: {now}")
    w(f"- **Machine**: {os.cpu_count()} cores (`nproc` {version(['nproc'])}), {cpu_model()}, {mem_total()} RAM, "
      f"{platform.system()} {platform.release()}")
    w(f"- **Command**: `{a.command}`")
    w(f"- **Tree**: {tree_state()}")
    w(f"- **Servers**: {version(['prometheus', '--version'])}; {version(['prometheus-pushgateway', '--version'])}; "
      f"{version(['tmux', '-V'])}; scrape every {a.scrape}, estate pushed every {a.push_every} s")
    w(f"- **Programs**: opsdeck (this tree, `cargo build --release`) and "
      f"{a.grafatui_version or 'grafatui (not run)'}, both in a 200x50 tmux pane, refresh {a.refresh_ms:.0f} ms; "
      f"grafatui's panels (`--query`) are the Health tab's golden signals (requests/s, error ratio, p95, p99, saturation by service, host CPU) as range queries, "
      f"{'every series' if a.topk in ('0', None) else 'top ' + a.topk + ' services per panel'}")
    steady = f"{a.duration:.0f} s over the 5 tabs" if a.duration else f"{a.tab_seconds:.0f} s per tab (steady windows leave out the first 2 s after a switch)"
    w(f"- **Time**: opsdeck {steady}")
    w("")
    w(METHOD)

    if len(order) > 1:
        w("## Across sizes\n")
        w("| figure | " + " | ".join(f"{n:,}: opsdeck / grafatui" for n in order) + " |")
        w("|---|" + "---|" * len(order))
        across = [
            ("HTTP requests per refresh, whole run", lambda r: r["whole"]["requests_per_refresh"], 2),
            ("HTTP requests per refresh, steady windows", lambda r: r["steady"]["requests_per_refresh"], 2),
            ("distinct queries asked (steady windows)", lambda r: r["steady"]["distinct_queries"], 0),
            ("HTTP response KB per refresh", lambda r: r["steady"]["response_bytes_per_refresh"] / 1024, 1),
            ("HTTP request time, median ms", lambda r: r["steady"]["median_request_ms"], 1),
            ("HTTP requests given up per refresh", lambda r: r["steady"]["abandoned_per_refresh"], 2),
            ("Prometheus CPU % meanwhile", lambda r: r["server_cpu_pct"]["prometheus"], 0),
            ("CPU % of one core", lambda r: r["steady"]["cpu_pct"], 2),
            ("peak RSS MB", lambda r: mb(r["memory"]["hwm_kb"]), 1),
            ("key to frame, median ms", lambda r: r["keys"]["median_ms"], 1),
            ("first frame, median ms", lambda r: r["first_frame"]["live"]["median_ms"], 1),
            ("terminal bytes/s, worst tab", lambda r: worst_tab(r, "bytes_per_s")[1], 0),
        ]
        for name, f, dg in across:
            cells = []
            for n in order:
                o, g = runs[n].get("opsdeck"), runs[n].get("grafatui")
                cells.append(f"{fmt(_safe(f, o), '', dg)} / {fmt(_safe(f, g), '', dg)}")
            w(f"| {name} | " + " | ".join(cells) + " |")
        w("")

    for n in order:
        run = runs[n]
        o, g, s = run.get("opsdeck"), run.get("grafatui"), run["server"]
        w(f"## {n:,} services\n")
        w(f"Prometheus: {s.get('series')} head series, Pushgateway scrape {fmt(_f(s.get('scrape_seconds')), ' s', 3)} "
          f"for {s.get('samples_scraped')} samples; one push of the estate {s.get('push_seconds_median')} s "
          f"({int(s.get('push_bytes', 0)) / 1e6:.1f} MB); Prometheus RSS {fmt(_mbb(s.get('prometheus_rss_kb')), ' MB', 0)}; "
          f"load average {s.get('loadavg_start')} before, {s.get('loadavg_end')} after.\n")
        w("| figure | opsdeck | grafatui | opsdeck ÷ grafatui | budget (opsdeck) |")
        w("|---|---|---|---|---|")

        def row(name, fo, fg, unit, digits, budget, ok, applies=True):
            vo = _safe(fo, o)
            vg = _safe(fg, g)
            if not applies:
                b = f"({budget}; not judged here)"
            else:
                b = f"{budget} — {verdict(ok(vo))}" if budget and ok and vo is not None else (budget or "")
            w(f"| {name} | {fmt(vo, unit, digits)} | {fmt(vg, unit, digits)} | {ratio(vo, vg)} | {b} |")

        row("first frame, live source (median ms)", lambda r: r["first_frame"]["live"]["median_ms"],
            lambda r: r["first_frame"]["live"]["median_ms"], "", 1, "≤ 50 ms", lambda v: v <= 50)
        row("first frame, source unreachable (median ms)", lambda r: r["first_frame"].get("dead", {}).get("median_ms"),
            lambda r: r["first_frame"].get("dead", {}).get("median_ms"), "", 1, "≤ 50 ms", lambda v: v <= 50)
        row("key to frame (median ms)", lambda r: r["keys"]["median_ms"], lambda r: r["keys"]["median_ms"], "", 1,
            "≤ 16 ms" + (" at 1,000" if n != 1000 else ""), lambda v: v <= 16, applies=n <= 1000)
        row("key to frame (p90 ms)", lambda r: r["keys"]["p90_ms"], lambda r: r["keys"]["p90_ms"], "", 1, "", None)
        row("tab switch to frame (median ms)", lambda r: _med(r.get("tab_switch_ms")), lambda r: None, "", 1, "", None)
        cpu_budget = n <= 1000
        row("CPU, steady (% of one core)", lambda r: r["steady"]["cpu_pct"], lambda r: r["steady"]["cpu_pct"], "", 2,
            "≤ 1%" + ("" if n == 1000 else " at 1,000"), lambda v: v <= 1.0, applies=cpu_budget)
        rss_budget = 30 if n <= 1000 else 150
        row("peak RSS, VmHWM (MB)", lambda r: mb(r["memory"]["hwm_kb"]), lambda r: mb(r["memory"]["hwm_kb"]), "", 1,
            f"≤ {rss_budget} MB", lambda v: v <= rss_budget)
        row("final RSS, VmRSS (MB)", lambda r: mb(r["memory"]["rss_final_kb"]), lambda r: mb(r["memory"]["rss_final_kb"]),
            "", 1, f"≤ {rss_budget} MB", lambda v: v <= rss_budget)
        row("RSS growth, after warm-up → end of the tabs (MB)",
            lambda r: mb(r["memory"]["rss_end_steady_kb"] - r["memory"]["rss_start_kb"]),
            lambda r: mb(r["memory"]["rss_end_steady_kb"] - r["memory"]["rss_start_kb"]), "", 2, "", None)
        row("RSS trend over the second half of the run (MB, least squares)", lambda r: _half_growth(r), lambda r: _half_growth(r), "", 2,
            "flat (≤ 1 MB)", lambda v: v <= 1.0)
        row("terminal bytes/s, steady, all tabs", lambda r: r["steady"]["bytes_per_s"],
            lambda r: r["steady"]["bytes_per_s"], "", 0, "", None)
        wt = _safe(lambda r: worst_tab(r, "bytes_per_s")[0], o)
        row(f"terminal bytes/s, worst tab{' (opsdeck: ' + wt + ')' if wt else ''}", lambda r: worst_tab(r, "bytes_per_s")[1],
            lambda r: worst_tab(r, "bytes_per_s")[1], "", 0, "≤ 1024 B/s every tab", lambda v: v <= 1024)
        row("terminal writes per second (frames with output)", lambda r: r["steady"]["writes_per_s"],
            lambda r: r["steady"]["writes_per_s"], "", 2, "", None)
        row("writes that change no cell (per s)", lambda r: r["steady"]["writes_without_change_per_s"],
            lambda r: r["steady"]["writes_without_change_per_s"], "", 2, "0: an unchanged frame writes nothing",
            lambda v: v == 0)
        row("HTTP requests per refresh, whole run (tab switches included)", lambda r: r["whole"]["requests_per_refresh"],
            lambda r: r["whole"]["requests_per_refresh"], "", 2, "same at every N", None)
        row("HTTP requests per refresh, steady, all tabs", lambda r: r["steady"]["requests_per_refresh"],
            lambda r: r["steady"]["requests_per_refresh"], "", 2, "", None)
        row("HTTP requests given up by the client per refresh", lambda r: r["steady"]["abandoned_per_refresh"],
            lambda r: r["steady"]["abandoned_per_refresh"], "", 2, "", None)
        row("HTTP request time at the proxy (median ms)", lambda r: r["steady"]["median_request_ms"],
            lambda r: r["steady"]["median_request_ms"], "", 1, "", None)
        row("Prometheus CPU meanwhile (% of one core)", lambda r: r.get("server_cpu_pct", {}).get("prometheus"),
            lambda r: r.get("server_cpu_pct", {}).get("prometheus"), "", 1, "", None)
        row("the counting proxy's CPU meanwhile (% of one core)", lambda r: r.get("server_cpu_pct", {}).get("proxy"),
            lambda r: r.get("server_cpu_pct", {}).get("proxy"), "", 1, "", None)
        row("HTTP response KB per refresh", lambda r: r["steady"]["response_bytes_per_refresh"] / 1024,
            lambda r: r["steady"]["response_bytes_per_refresh"] / 1024, "", 1, "", None)
        row("run length (s)", lambda r: r["run_seconds"], lambda r: r["run_seconds"], "", 0, "", None)
        w("")
        if o:
            w(f"opsdeck per tab ({n:,} services):\n")
            w("| tab | bytes/s | writes/s | of which change no cell | bytes per write (min / median / max) | CPU % | requests/refresh | by path | distinct queries | KB/refresh | HTTP errors |")
            w("|---|---|---|---|---|---|---|---|---|---|---|")
            for lab, t in o["tabs"].items():
                paths = ", ".join(f"{k.rsplit('/', 1)[-1]} {v:.2f}" for k, v in t["requests_per_refresh_by_path"].items())
                w(f"| {lab} | {t['bytes_per_s']:.0f} | {t['writes_per_s']:.2f} | {t['writes_without_change_per_s']:.2f} | {t['burst_bytes_min']} / "
                  f"{t['burst_bytes_median']:.0f} / {t['burst_bytes_max']} | {t['cpu_pct']:.2f} | "
                  f"{t['requests_per_refresh']:.2f} | {paths or '—'} | {t['distinct_queries']} | "
                  f"{t['response_bytes_per_refresh'] / 1024:.1f} | {t['errors']} |")
            if g:
                t = g["steady"]
                paths = ", ".join(f"{k.rsplit('/', 1)[-1]} {v:.2f}" for k, v in t["requests_per_refresh_by_path"].items())
                w(f"| *grafatui* | {t['bytes_per_s']:.0f} | {t['writes_per_s']:.2f} | {t['writes_without_change_per_s']:.2f} | {t['burst_bytes_min']} / "
                  f"{t['burst_bytes_median']:.0f} / {t['burst_bytes_max']} | {t['cpu_pct']:.2f} | "
                  f"{t['requests_per_refresh']:.2f} | {paths or '—'} | {t['distinct_queries']} | "
                  f"{t['response_bytes_per_refresh'] / 1024:.1f} | {t['errors']} |")
            w("")
            ff = o["first_frame"]
            w("opsdeck first frame, each start (ms after exec: first byte / alternate screen / frame complete): "
              + "; ".join(
                  f"{lab}: " + ", ".join(f"{_r(x['first_byte_ms'])}/{_r(x['alt_screen_ms'])}/{_r(x['first_frame_ms'])}"
                                         for x in v["runs"]) for lab, v in ff.items()))
            w("")
            w("opsdeck key to frame, each press (ms): " + ", ".join(f"{x:.1f}" for x in o["keys"]["frame_ms"])
              + f" ({o['keys']['answered']}/{o['keys']['presses']} answered)")
            w("")
            if g:
                w("grafatui key to frame, each press (ms): " + ", ".join(f"{x:.1f}" for x in g["keys"]["frame_ms"])
                  + f" ({g['keys']['answered']}/{g['keys']['presses']} answered; keys {','.join(g['keys']['keys'])})")
                w("")
            w("opsdeck's heaviest queries, steady (KB per refresh · requests per refresh · median ms · query):\n")
            for h in o["steady"].get("heaviest", []):
                w(f"- {h['kb_per_refresh']:.1f} KB · {h['per_refresh']:.2f} · {h['median_ms']:.0f} ms · "
                  f"`{h['path'].rsplit('/', 1)[-1]}` `{h['query'][:140]}`")
            w("")
            samples = o["memory"]["rss_samples"]
            if samples:
                step = max(1, len(samples) // 12)
                w("opsdeck RSS over the run (s: MB): " + ", ".join(
                    f"{t:.0f}: {kb / 1024:.1f}" for t, kb in samples[::step]))
                w("")

    text = "\n".join(L) + "\n"
    print(text)
    with open(a.out, "w") as f:
        f.write(text)


METHOD = """<details><summary>How each figure is measured</summary>

- **Terminal**: each program runs alone in a private tmux server (`tmux -L … -f /dev/null`), one 200x50 pane, TERM=screen.
  `tmux pipe-pane -o` feeds every byte the program writes to `bench/tap.py`, which stores the bytes and the time of each
  read (µs clock). The pane starts a wrapper blocked on a FIFO; once the tap is listening the FIFO is released, the wrapper
  notes `$EPOCHREALTIME` and execs the program, so no byte is missed and exec is a known instant.
- **End of a frame**: both programs draw with ratatui, whose backend ends every draw with the same reset
  (`ESC[39m ESC[49m ESC[59m ESC[0m`, written nowhere else); a frame ends at the read that brings that sequence. (For a
  program that never writes it, the end of a burst of reads under 15 ms apart is used instead.)
- **First frame**: exec → the end of the first frame after the switch to the alternate screen; median of FIRST_FRAME_RUNS
  starts, with the Prometheus URL live (through the proxy) and dead (a closed loopback port). Resolution: the tap's read
  times, plus tmux's hand-off (< 1 ms). Both programs draw their first frame before any data arrives.
- **Key to frame**: keys go in through a tmux control-mode client (a pipe write, no process start). Before each press the
  pane must have been silent for 60 ms; the figure is the press → the end of the first frame after it. opsdeck:
  ↓/↑ alternately on the Health tab; grafatui: ↓/↑ (moves the selected panel). A press with no output within 5 s is
  counted as unanswered.
- **Steady windows**: each tab (opsdeck: keys 1–5) gets its time; the first 2 s after the switch are left out. CPU is
  utime+stime from `/proc/PID/stat` (10 ms ticks) over those windows; RSS is sampled every second from `/proc/PID/status`,
  VmHWM and VmRSS read at the end. "Writes that change no cell" are bursts made only of SGR attributes, cursor moves and
  cursor show/hide.
- **HTTP**: `bench/proxy.py`, a threaded forwarding proxy on loopback between the program and Prometheus, logs every
  request (start time, path, status, bytes, time, PromQL). Requests per refresh = requests started in the windows ÷
  (window seconds ÷ refresh). The whole run (one span from the end of warm-up to the last tab, switches included) is the
  figure to compare across sizes: answers reused for 15–60 s are asked once or not at all in a 10 s steady window, so
  the steady figure moves by ±10% between runs of the same program. A request the client gives up on (its timeout) is logged as 499 and its upstream connection
  closed, so Prometheus cancels the query as it would for the client.
- **Machine**: the servers, the pusher and the programs share the same cores; other work on the machine shows in the load
  averages.

</details>
"""


def _safe(f, r):
    if not r:
        return None
    try:
        return f(r)
    except (KeyError, TypeError, IndexError):
        return None


def _half_growth(r):
    """The least-squares trend of RSS over the second half of the run, in MB
    over that half: RSS swings with each answer decoded and each trim, so the
    difference of two single samples is mostly where in a swing each fell."""
    s = r["memory"]["rss_samples"][len(r["memory"]["rss_samples"]) // 2:]
    if len(s) < 4:
        return None
    ts = [t for t, _ in s]
    vs = [v for _, v in s]
    mt, mv = sum(ts) / len(ts), sum(vs) / len(vs)
    var = sum((t - mt) ** 2 for t in ts)
    if var == 0:
        return None
    slope = sum((t - mt) * (v - mv) for t, v in s) / var
    return slope * (ts[-1] - ts[0]) / 1024


def _f(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _mbb(kb):
    v = _f(kb)
    return None if v is None else v / 1024


def _med(xs):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[len(xs) // 2]


def _r(v):
    return "—" if v is None else f"{v:.0f}"


if __name__ == "__main__":
    main()
