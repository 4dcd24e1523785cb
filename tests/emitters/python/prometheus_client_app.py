"""kind `prometheus_client`: a stdlib HTTP server instrumented by hand with
prometheus-client, the way its documentation shows: a request counter
labelled by method, handler and status code, and a latency histogram
(default buckets) labelled by method and handler. /metrics serves the
default registry (so process_* and python_* come along), in the format the
Accept header asks for, as the library's own servers do, and is not counted.

Also the backend of the caddy, haproxy and blackbox kinds.
"""

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import time

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.exposition import choose_encoder

from common import run, Failures, is_work_path, log, parse_args

REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests handled, by method, handler and status code.",
    ["method", "handler", "code"],
)
LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time spent handling an HTTP request, in seconds.",
    ["method", "handler"],
)


def main():
    args = parse_args(__doc__)
    failures = Failures(args.fail_every, args.latency_ms)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                # As prometheus-client's own servers do: OpenMetrics when
                # the scraper asks for it (Prometheus does), else text.
                encoder, content_type = choose_encoder(self.headers.get("Accept"))
                self.answer(200, encoder(REGISTRY), content_type)
                return
            if not is_work_path(path):
                self.answer(404, b"not found\n")
                return
            start = time.perf_counter()
            code = failures.next(path)
            body = b"ok\n" if code == 200 else b"failed on purpose\n"
            # Counted before the answer goes out, so a client that has its
            # answer finds it counted (after, a scrape at once could miss it).
            LATENCY.labels("GET", path).observe(time.perf_counter() - start)
            REQUESTS.labels("GET", path, str(code)).inc()
            self.answer(code, body)

        def answer(self, code, body, content_type="text/plain; charset=utf-8"):
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    log(f"prometheus_client app on http://127.0.0.1:{args.port}")
    server.serve_forever()


if __name__ == "__main__":
    run(main)
