#!/usr/bin/env python3
"""Feeds a Pushgateway with a simulated estate of N services, for bench/whole.sh.

    estate.py PUSHGATEWAY_URL SERVICES [--every SECONDS] [--once] [--stats FILE]

Each service has, in the text exposition format:
  http_requests_total{service,code="200"|"500"}        2 counters
  http_request_duration_seconds_bucket{service,le}     4 counters (0.1, 0.5, 1, +Inf)
  saturation_ratio{service}                            1 gauge
  deployment_info{service,environment,...} and
  deployment_timestamp_seconds{service,environment}    2 gauges
and one backup target per 10 services (3 gauges), plus 3 hosts' node-style
metrics: about 9.3 series per service, so 10,000 services are ~93,000 series.

Counters grow between pushes by rate x elapsed time, so rate() exists. The
estate is pushed in groups of at most 500 services (job="estate",
shard=K), each a PUT that replaces the group. Every push cycle's duration
goes to --stats (one line: unix time, seconds, bytes). Runs until killed
unless --once. Only the given URL is contacted (loopback in the bench).
"""

import argparse
import http.client
import sys
import time
import urllib.parse

SHARD = 500
LES = ("0.1", "0.5", "1", "+Inf")
# Fraction of requests at or under each bucket edge.
FRAC = (0.70, 0.95, 0.99, 1.0)


def service_name(i):
    return f"svc-{i:05d}"


class Estate:
    def __init__(self, n):
        self.n = n
        self.rate = [5.0 + (i % 20) for i in range(n)]
        # Error fraction: most services healthy, a few burning.
        self.bad = [0.0001 * (1 + i % 4) if i % 97 else 0.03 for i in range(n)]
        self.ok = [0.0] * n
        self.err = [0.0] * n
        self.t = time.time()
        self.start = self.t

    def advance(self):
        now = time.time()
        dt = now - self.t
        self.t = now
        for i in range(self.n):
            total = self.rate[i] * dt
            e = total * self.bad[i]
            self.ok[i] += total - e
            self.err[i] += e

    def shard_text(self, lo, hi):
        out = []
        w = out.append
        w("# TYPE http_requests_total counter\n")
        for i in range(lo, hi):
            s = service_name(i)
            w(f'http_requests_total{{service="{s}",code="200"}} {self.ok[i]:.1f}\n')
            w(f'http_requests_total{{service="{s}",code="500"}} {self.err[i]:.1f}\n')
        w("# TYPE http_request_duration_seconds_bucket untyped\n")
        for i in range(lo, hi):
            s = service_name(i)
            total = self.ok[i] + self.err[i]
            # A slow tail on one service in 50.
            frac = FRAC if i % 50 else (0.40, 0.80, 0.97, 1.0)
            for le, f in zip(LES, frac):
                w(f'http_request_duration_seconds_bucket{{service="{s}",le="{le}"}} {total * f:.1f}\n')
        w("# TYPE saturation_ratio gauge\n")
        phase = (self.t - self.start) / 60.0
        for i in range(lo, hi):
            s = service_name(i)
            v = 0.3 + 0.5 * ((i * 37 % 100) / 100.0) + 0.05 * ((phase + i) % 1.0)
            w(f'saturation_ratio{{service="{s}"}} {min(v, 0.99):.3f}\n')
        w("# TYPE deployment_info gauge\n")
        strategies = ("rolling", "canary", "blue-green")
        for i in range(lo, hi):
            s = service_name(i)
            strat = strategies[i % 3]
            color = "blue" if strat == "blue-green" else ""
            phase_word = "progressing" if i % 40 == 0 else "complete"
            w(
                f'deployment_info{{service="{s}",environment="production",version="v1.{i % 9}.{i % 7}",'
                f'previous_version="v1.{i % 9}.{max(i % 7 - 1, 0)}",strategy="{strat}",color="{color}",'
                f'phase="{phase_word}"}} 1\n'
            )
        w("# TYPE deployment_timestamp_seconds gauge\n")
        for i in range(lo, hi):
            s = service_name(i)
            w(f'deployment_timestamp_seconds{{service="{s}",environment="production"}} {int(self.start) - 600 * (i % 500)}\n')
        w("# TYPE backup_last_success_timestamp_seconds gauge\n")
        tiers = ("critical", "standard", "non-critical")
        for i in range(lo, hi, 10):
            w(f'backup_last_success_timestamp_seconds{{target="{service_name(i)}-db",tier="{tiers[i % 3]}"}} {int(self.t) - 300 - (i % 60) * 60}\n')
        w("# TYPE backup_last_size_bytes gauge\n")
        for i in range(lo, hi, 10):
            w(f'backup_last_size_bytes{{target="{service_name(i)}-db"}} {1_000_000_000 + i * 1_000_003}\n')
        w("# TYPE backup_last_verified_timestamp_seconds gauge\n")
        for i in range(lo, hi, 10):
            w(f'backup_last_verified_timestamp_seconds{{target="{service_name(i)}-db"}} {int(self.start) - 86400}\n')
        return "".join(out)

    def hosts_text(self, k):
        # node-style metrics for host k: two CPUs' idle counters, memory, one filesystem.
        elapsed = self.t - self.start
        idle = 0.5 + 0.1 * k
        out = ["# TYPE node_cpu_seconds_total counter\n"]
        for cpu in range(2):
            out.append(f'node_cpu_seconds_total{{cpu="{cpu}",mode="idle"}} {1000 + elapsed * idle:.2f}\n')
            out.append(f'node_cpu_seconds_total{{cpu="{cpu}",mode="user"}} {500 + elapsed * (1 - idle):.2f}\n')
        out.append("# TYPE node_memory_MemAvailable_bytes gauge\n")
        out.append(f"node_memory_MemAvailable_bytes {(4 - k) * 1_000_000_000}\n")
        out.append("# TYPE node_memory_MemTotal_bytes gauge\n")
        out.append("node_memory_MemTotal_bytes 8000000000\n")
        out.append("# TYPE node_filesystem_avail_bytes gauge\n")
        out.append(f'node_filesystem_avail_bytes{{mountpoint="/",fstype="ext4",device="/dev/vda1"}} {(30 - 10 * k) * 1_000_000_000}\n')
        out.append("# TYPE node_filesystem_size_bytes gauge\n")
        out.append('node_filesystem_size_bytes{mountpoint="/",fstype="ext4",device="/dev/vda1"} 100000000000\n')
        return "".join(out)


def put(conn, path, body):
    data = body.encode()
    conn.request("PUT", path, body=data, headers={"Content-Type": "text/plain; version=0.0.4"})
    resp = conn.getresponse()
    text = resp.read()
    if resp.status // 100 != 2:
        raise RuntimeError(f"PUT {path}: {resp.status} {text[:300]!r}")
    return len(data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("services", type=int)
    ap.add_argument("--every", type=float, default=5.0)
    ap.add_argument("--once", action="store_true")
    ap.add_argument("--stats")
    a = ap.parse_args()
    u = urllib.parse.urlsplit(a.url)
    est = Estate(a.services)
    conn = None
    while True:
        t0 = time.time()
        est.advance()
        sent = 0
        try:
            if conn is None:
                conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
            for k, lo in enumerate(range(0, a.services, SHARD)):
                hi = min(lo + SHARD, a.services)
                sent += put(conn, f"/metrics/job/estate/shard/{k}", est.shard_text(lo, hi))
            for h in range(3):
                sent += put(conn, f"/metrics/job/node/instance/host-{h + 1}", est.hosts_text(h))
        except (OSError, http.client.HTTPException) as e:
            print(f"estate: push failed: {e}", file=sys.stderr)
            conn = None
        took = time.time() - t0
        if a.stats:
            with open(a.stats, "a") as f:
                f.write(f"{t0:.3f} {took:.3f} {sent}\n")
        if a.once:
            return
        time.sleep(max(0.2, a.every - took))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
