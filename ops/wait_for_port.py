#!/usr/bin/env python3
"""Wait until TCP ports accept connections (systemd ExecStartPre of dependent units).

    wait_for_port.py [--timeout 120] 127.0.0.1:5433 127.0.0.1:9000

Exits 0 when every port accepts, 1 with the ports still closed after the timeout.
Standard library only: it runs with the system Python.
"""

from __future__ import annotations

import argparse
import socket
import sys
import time


def is_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("targets", nargs="+", help="HOST:PORT")
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args(argv)
    targets = []
    for target in args.targets:
        host, _, port = target.rpartition(":")
        if not host or not port.isdigit():
            parser.error(f"expected HOST:PORT, got {target!r}")
        targets.append((host, int(port)))
    deadline = time.monotonic() + args.timeout
    while True:
        closed = [f"{h}:{p}" for h, p in targets if not is_open(h, p)]
        if not closed:
            return 0
        if time.monotonic() > deadline:
            print(f"still closed after {args.timeout:.0f}s: {' '.join(closed)}", file=sys.stderr)
            return 1
        time.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main())
