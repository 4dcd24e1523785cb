#!/usr/bin/env python3
"""The timestamped reader behind `tmux pipe-pane`, for bench/whole.sh.

    tmux pipe-pane -o 'python3 bench/tap.py OUT.bin OUT.ts'

Copies every byte the program writes to its terminal to OUT.bin (like
`cat >> OUT.bin`) and, for every read, appends "unix_ns bytes" to OUT.ts,
flushed at once, so the driver can see output as it happens. The time is
when this reader got the bytes from tmux (microsecond clock; tmux hands
pane output to the pipe in the same event-loop pass that reads it).
"""

import os
import sys
import time


def main():
    out = open(sys.argv[1], "ab", buffering=0)
    ts = open(sys.argv[2], "a", buffering=1)
    ts.write(f"{time.time_ns()} 0\n")  # "the tap is listening"
    while True:
        chunk = os.read(0, 1 << 16)
        if not chunk:
            break
        t = time.time_ns()
        out.write(chunk)
        ts.write(f"{t} {len(chunk)}\n")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
