"""A webhook receiver for the tests, run as its own process so it can be killed.

`python -m tests.webhook_receiver --port P --secret S --out FILE` answers 204 to
every POST whose `X-Rescue-Signature` is the HMAC-SHA256 of the body under the
secret and that reads as a CloudEvents 1.0 structured event (checked with the
`cloudevents` SDK), appending `{"id", "type", "subject"}` to FILE (one JSON
line, flushed and synced before answering, so an answered delivery is on disk);
a bad signature or a malformed event is answered 400 and appended as
`{"refused": reason}`.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cloudevents.v1.http import from_http


class Handler(BaseHTTPRequestHandler):
    secret: bytes
    out: Path
    lock = threading.Lock()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        expected = "sha256=" + hmac.new(self.secret, body, hashlib.sha256).hexdigest()
        record: dict[str, Any]
        if not hmac.compare_digest(expected, self.headers.get("X-Rescue-Signature", "")):
            record = {"refused": "signature"}
        else:
            try:
                event = from_http(dict(self.headers.items()), body)
                record = {
                    "id": event["id"],
                    "type": event["type"],
                    "subject": event["subject"],
                    "specversion": event["specversion"],
                }
            except Exception as error:
                record = {"refused": f"not a CloudEvent: {error}"}
        with self.lock, self.out.open("a") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.send_response(400 if "refused" in record else 204)
        self.send_header("Content-Length", "0")
        self.end_headers()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    Handler.secret = args.secret.encode()
    Handler.out = args.out
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
