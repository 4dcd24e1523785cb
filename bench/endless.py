#!/usr/bin/env python3
"""A hostile HTTP server on loopback, for bench/hostile.sh.

    endless.py PORT STATS_FILE

Answers every request with 200 and a chunked body that never ends (64 KiB
chunks of spaces, as fast as the client reads), until the client hangs up.
Threaded: one thread per connection. Every second it writes to STATS_FILE
one line, "requests bytes_sent", the totals so far. Listens on 127.0.0.1
only.
"""

import socket
import socketserver
import sys
import threading
import time

CHUNK = b"%x\r\n" % 65536 + b" " * 65536 + b"\r\n"
HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
)

lock = threading.Lock()
totals = {"requests": 0, "bytes": 0}


class Endless(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        sock.settimeout(5)
        head = b""
        try:
            while b"\r\n\r\n" not in head:
                data = sock.recv(4096)
                if not data:
                    return
                head += data
            with lock:
                totals["requests"] += 1
            sock.sendall(HEAD)
            while True:
                sock.sendall(CHUNK)
                with lock:
                    totals["bytes"] += len(CHUNK)
        except OSError:
            return


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    port, stats = int(sys.argv[1]), sys.argv[2]
    server = Server(("127.0.0.1", port), Endless)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    while True:
        time.sleep(1)
        with lock:
            line = "%d %d\n" % (totals["requests"], totals["bytes"])
        with open(stats, "w") as f:
            f.write(line)


if __name__ == "__main__":
    main()
