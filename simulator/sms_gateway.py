"""A stand-in SMS gateway on loopback: records what it is sent, and fails when told to.

It speaks what rescue.services.sms's adapter sends: `POST /send` with JSON
`{"to", "text", "key"}` answers 200 `{"id"}` and records the message. The
tests and `rescue demo` drive it over HTTP too:

- `GET /messages` -> `{"messages": [{id, to, text, key, received_at}], "refused": n}`
- `POST /control/fail` `{"status": 503}` -> every send is answered with that status
  (not recorded) until `POST /control/recover`.
- `POST /control/hold` -> sends are recorded but not answered until `POST /control/release`
  (a sender that dies meanwhile has sent a message it never heard back about).

Run it alone with `rescue sms-gateway --port 8025` or
`python -m rescue.simulator.sms_gateway --port 8025`; `--record FILE` also appends
each message to a JSON-lines file.
"""

from __future__ import annotations

import argparse
import itertools
import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["StandInGateway", "main"]


class _State:
    def __init__(self, record: Path | None) -> None:
        self.lock = threading.Lock()
        self.messages: list[dict[str, Any]] = []
        self.refused = 0
        self.fail_status: int | None = None
        self.answering = threading.Event()
        self.answering.set()
        self.record = record
        self.ids = itertools.count(1)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the demo's terminal belongs to the simulator

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw) if raw else {}

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        state = self.server.state
        if self.path.rstrip("/") == "/messages":
            with state.lock:
                self._answer(200, {"messages": list(state.messages), "refused": state.refused})
        else:
            self._answer(404, {"detail": "not found"})

    def do_POST(self) -> None:
        state = self.server.state
        try:
            body = self._body()
        except ValueError:
            self._answer(400, {"detail": "not JSON"})
            return
        path = self.path.rstrip("/")
        if path == "/control/fail":
            with state.lock:
                state.fail_status = int(body.get("status", 503))
            self._answer(200, {"failing": state.fail_status})
        elif path == "/control/hold":
            state.answering.clear()
            self._answer(200, {"holding": True})
        elif path == "/control/release":
            state.answering.set()
            self._answer(200, {"holding": False})
        elif path == "/control/recover":
            with state.lock:
                state.fail_status = None
            self._answer(200, {"failing": None})
        elif path == "/send":
            self._send(state, body)
        else:
            self._answer(404, {"detail": "not found"})

    def _send(self, state: _State, body: Any) -> None:
        if not isinstance(body, dict) or not body.get("to") or not body.get("text"):
            self._answer(400, {"detail": "send {to, text, key}"})
            return
        with state.lock:
            if state.fail_status is not None:
                state.refused += 1
                self._answer(state.fail_status, {"detail": "told to fail"})
                return
            message = {
                "id": f"sms-{next(state.ids)}",
                "to": str(body["to"]),
                "text": str(body["text"]),
                "key": body.get("key") or self.headers.get("Idempotency-Key"),
                "received_at": datetime.now(UTC).isoformat(),
            }
            state.messages.append(message)
            if state.record is not None:
                with state.record.open("a", encoding="utf-8") as f:
                    f.write(json.dumps(message, ensure_ascii=False) + "\n")
        state.answering.wait()
        self._answer(200, {"id": message["id"]})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], state: _State) -> None:
        super().__init__(address, _Handler)
        self.state = state


class StandInGateway:
    """The gateway in a thread of this process (for `rescue demo`)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, record: Path | None = None):
        self._server = _Server((host, port), _State(record))
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="sms-gateway", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def send_url(self) -> str:
        return f"{self.url}/send"

    def messages(self) -> list[dict[str, Any]]:
        with self._server.state.lock:
            return list(self._server.state.messages)

    def start(self) -> StandInGateway:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def serve(host: str, port: int, record: Path | None) -> None:
    """Serves until interrupted."""
    server = _Server((host, port), _State(record))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="a stand-in SMS gateway on loopback")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--record", type=Path, default=None)
    args = parser.parse_args(argv)
    print(f"stand-in SMS gateway on http://{args.host}:{args.port}/send", flush=True)
    serve(args.host, args.port, args.record)


if __name__ == "__main__":
    main()
