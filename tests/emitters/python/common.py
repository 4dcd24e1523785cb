"""What every Python emitter of tests/support/emitters.rs shares: the
command line and the deterministic failures.

Each path under /work (``/work``, ``/work/scrape``...) has a request counter
of its own, starting at 0; the k-th request to a path (k = 1, 2, ...) fails
with HTTP 500 when ``fail_every > 0`` and ``k % fail_every == 0``. So n
requests to one path give exactly ``n // fail_every`` failures, whatever
else is asked of the app (scrapes, readiness probes, other paths).
Each /work request sleeps ``latency_ms`` first.
"""

import argparse
import errno
import socket
import sys
import threading
import time


def parse_args(description, metrics_port=False):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, required=True, help="the app's port on 127.0.0.1")
    if metrics_port:
        parser.add_argument(
            "--metrics-port", type=int, required=True, help="the exporter's port on 127.0.0.1"
        )
    parser.add_argument("--fail-every", type=int, default=10, help="0: never fail")
    parser.add_argument("--latency-ms", type=int, default=20)
    return parser.parse_args()


class Failures:
    """Per-path request counters deciding which request fails."""

    def __init__(self, fail_every, latency_ms):
        self.fail_every = fail_every
        self.latency = latency_ms / 1000.0
        self.lock = threading.Lock()
        self.counts = {}

    def next(self, path):
        """Counts one request to `path`, sleeps the latency, and tells
        whether it fails (the status to answer: 200 or 500)."""
        with self.lock:
            k = self.counts.get(path, 0) + 1
            self.counts[path] = k
        if self.latency > 0:
            time.sleep(self.latency)
        if self.fail_every > 0 and k % self.fail_every == 0:
            return 500
        return 200


def is_work_path(path):
    return path == "/work" or path.startswith("/work/")


def log(message):
    print(message, file=sys.stderr, flush=True)


def run(main):
    """Runs `main`; a port clash exits 1 with the lowercase "address already
    in use" that the harness (tests/support/process.rs) takes for a clash and
    answers by starting again on fresh ports (Python says "Address...")."""
    try:
        main()
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            log(f"listen failed: address already in use ({e})")
            sys.exit(1)
        raise
    except KeyboardInterrupt:
        pass


def listen(port):
    """A TCP socket bound to 127.0.0.1:`port` and listening, for Werkzeug's
    `make_server(fd=...)`: Werkzeug reports a clash itself, in words the
    harness does not look for, and exits."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    return sock
