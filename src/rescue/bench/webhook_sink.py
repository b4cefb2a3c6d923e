"""A webhook receiver that answers at once, for the webhook benchmark: `python -m ... PORT`.

Every POST is answered 204 (HTTP/1.1, kept alive) and counted under its
path; when the body carries a CloudEvents `time`, the delay from that time to
arrival is kept. `GET /stats/<path>` gives `{count, p50_ms, p99_ms, first,
last}` (arrival times as Unix seconds) for that path.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Tally:
    def __init__(self) -> None:
        self.count = 0
        self.delays_ms: list[float] = []
        self.first: float | None = None
        self.last: float | None = None


TALLIES: dict[str, _Tally] = {}
LOCK = threading.Lock()


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        now = time.time()
        delay: float | None = None
        try:
            stamp = json.loads(body).get("time")
            if stamp:
                delay = (now - datetime.fromisoformat(stamp).timestamp()) * 1000
        except ValueError:
            pass
        with LOCK:
            tally = TALLIES.setdefault(self.path, _Tally())
            tally.count += 1
            tally.first = tally.first or now
            tally.last = now
            if delay is not None:
                tally.delays_ms.append(delay)
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        path = self.path.removeprefix("/stats")
        with LOCK:
            tally = TALLIES.get(path, _Tally())
            stats = {
                "count": tally.count,
                "p50_ms": _percentile(tally.delays_ms, 0.5),
                "p99_ms": _percentile(tally.delays_ms, 0.99),
                "first": tally.first,
                "last": tally.last,
            }
        data = json.dumps(stats).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), _Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
