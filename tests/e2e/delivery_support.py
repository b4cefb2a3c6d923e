"""Real parts for the delivery tests: a server with quick retries, a killable webhook receiver."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from rescue.bootstrap import bootstrap
from rescue.services.delivery import event_type
from rescue.settings import Settings
from tests.live import LiveServer

# Retries come quickly and a target is marked failing after two failed attempts; the lease
# is short so a second process takes over from a killed one soon.
QUICK = {
    "delivery_backoff_s": "0.05",
    "delivery_backoff_max_s": "0.5",
    "delivery_failing_after": "2",
    "delivery_lease_s": "3",
    "webhook_timeout_s": "5",
}
ROOT = Path(__file__).resolve().parents[2]


def wait_until(what: str, check: Callable[[], Any], timeout: float = 90.0) -> Any:
    """Polls until `check()` is truthy; fails naming `what` if it never is (a hang guard)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.05)


@dataclass
class Receiver:
    """`tests.webhook_receiver` in its own process, on a fixed port across restarts."""

    port: int
    secret: str
    out: Path
    proc: subprocess.Popen[bytes] | None = field(default=None)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.webhook_receiver",
                "--port",
                str(self.port),
                "--secret",
                self.secret,
                "--out",
                str(self.out),
            ],
            cwd=ROOT,
        )

        def answers() -> bool:
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/", timeout=1)
            except httpx.HTTPError:
                return False
            return True

        wait_until("the receiver listens", answers, timeout=30)
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def records(self) -> list[dict[str, Any]]:
        if not self.out.exists():
            return []
        return [json.loads(line) for line in self.out.read_text().splitlines() if line]

    def ids(self) -> list[int]:
        return [int(r["id"]) for r in self.records() if "id" in r]


def logged_positions(live: LiveServer, prefix: str) -> list[int]:
    """The log positions of every event whose type starts with `prefix` (read from the store)."""
    app = bootstrap(Settings(db=live.db, cipher_key=live.key), follow=False)
    try:
        rows = app.store.recorder.select_notifications(start=0, limit=1_000_000)
        return [r.id for r in rows if event_type(r.topic).startswith(prefix)]
    finally:
        app.close()


def first_seen(ids: list[int]) -> list[int]:
    """The ids in the order they first arrived, repeats left out."""
    return list(dict.fromkeys(ids))
