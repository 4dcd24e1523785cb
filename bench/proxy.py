#!/usr/bin/env python3
"""A counting HTTP forwarding proxy on loopback, for bench/whole.sh.

    proxy.py LISTEN_PORT UPSTREAM_URL LOG_FILE

Threaded (one thread per client connection, HTTP/1.1 keep-alive both ways).
Every request is forwarded to UPSTREAM (a loopback URL) and logged as one
tab-separated line:

    unix_ns  method  path  status  request_bytes  response_bytes  micros  query

Status 499: the client closed its connection before the answer (its own
timeout); the proxy then closes the upstream connection, so the server
cancels the query as it would have for the client. `micros` is then the
time until the client gave up. Status 502: the upstream failed.

`query` is the PromQL expression (the `query` parameter, from the URL
or a form body), shortened to 200 characters. The log is flushed per line so
a reader can count while it runs. Listens on 127.0.0.1 only.
"""

import http.client
import http.server
import select
import socket
import socketserver
import sys
import threading
import time
import urllib.parse

HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
    "te", "trailers", "transfer-encoding", "upgrade", "host", "content-length",
}


def main():
    port = int(sys.argv[1])
    up = urllib.parse.urlsplit(sys.argv[2])
    log = open(sys.argv[3], "a", buffering=1)
    lock = threading.Lock()
    local = threading.local()

    def upstream():
        c = getattr(local, "conn", None)
        if c is None:
            c = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
            local.conn = c
        return c

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def setup(self):
            super().setup()
            # Headers and body go out in two writes: without this, Nagle and
            # delayed ACKs add 40 ms to every answer on a kept-alive connection.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def forward(self):
            t0 = time.time_ns()
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
            status, data, resp = 502, b"", None
            for attempt in (0, 1):
                conn = upstream()
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    if not self.wait_upstream(conn):
                        # The client gave up (its timeout): drop the upstream
                        # connection too, so the server cancels the query as it
                        # would for the client itself.
                        conn.close()
                        local.conn = None
                        self.close_connection = True
                        self.record(t0, 499, n, 0, body)
                        return
                    resp = conn.getresponse()
                    data = resp.read()
                    status = resp.status
                    break
                except (OSError, http.client.HTTPException):
                    conn.close()
                    local.conn = None
            try:
                if resp is None:
                    self.send_error(502)
                else:
                    self.send_response_only(resp.status, resp.reason)
                    for k, v in resp.getheaders():
                        if k.lower() not in HOP:
                            self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                    self.wfile.flush()
            except OSError:
                self.close_connection = True
                status = 499
            self.record(t0, status, n, len(data), body)

        def wait_upstream(self, conn):
            """Waits for the upstream answer to start; False when the client
            closes its connection first."""
            watch_client = True
            while True:
                socks = [conn.sock] + ([self.connection] if watch_client else [])
                ready, _, _ = select.select(socks, [], [], 1.0)
                if conn.sock in ready:
                    return True
                if self.connection in ready:
                    try:
                        peek = self.connection.recv(1, socket.MSG_PEEK)
                    except OSError:
                        peek = b""
                    if not peek:
                        return False
                    watch_client = False  # data, not a close: stop watching

        def record(self, t0, status, req_bytes, resp_bytes, body):
            took = (time.time_ns() - t0) // 1000
            parts = urllib.parse.urlsplit(self.path)
            params = urllib.parse.parse_qs(parts.query)
            if body and "form-urlencoded" in (self.headers.get("Content-Type") or ""):
                params.update(urllib.parse.parse_qs(body.decode("utf-8", "replace")))
            q = (params.get("query") or params.get("match[]") or [""])[0]
            q = " ".join(q.split())[:200]
            with lock:
                log.write(f"{t0}\t{self.command}\t{parts.path}\t{status}\t{req_bytes}\t{resp_bytes}\t{took}\t{q}\n")

        do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = forward

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        allow_reuse_address = True

    srv = Server(("127.0.0.1", port), Handler)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
