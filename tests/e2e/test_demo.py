"""`rescue demo` as a user runs it: one command, URLs and tokens printed, calls handled, Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from tests.live import bearer
from tests.support import free_port


class Output:
    """Collects a process's output lines in a thread, so its pipe never fills up."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert proc.stdout is not None
        self._thread = threading.Thread(target=self._read, args=(proc.stdout,), daemon=True)
        self._thread.start()

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.lines.append(line.rstrip("\n"))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def wait_for(predicate: object, timeout_s: float, proc: subprocess.Popen[str], out: Output) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        if proc.poll() is not None:
            raise AssertionError(f"demo exited {proc.returncode}:\n{out.text[-4000:]}")
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting after {timeout_s:.0f} s:\n{out.text[-4000:]}")


def test_demo_serves_prints_urls_and_tokens_and_calls_come_in(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RESCUE_")}
    env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen(
        [sys.executable, "-m", "rescue.cli", "demo", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    out = Output(proc)
    base = f"http://127.0.0.1:{port}"
    try:
        # 1. It prints each page's URL and a token for every role.
        wait_for(lambda: "simulator:" in out.text, 180, proc, out)
        for page in ("console", "tablet", "audit"):
            assert f"{base}/{page}" in out.text
        tokens = dict(re.findall(r"token for (\w+)[^:]*: (\S+)", out.text))
        assert set(tokens) >= {"operator", "auditor", "admin", "crew"}, out.text

        # 2. The server answers, with the demo network, on embedded SQLite in ./var/demo.
        with httpx.Client(base_url=base, timeout=10) as http:
            assert http.get("/healthz").json() == {"status": "ok"}
            op = bearer(tokens["operator"])
            assert len(http.get("/api/vans", headers=op).json()) > 1000
            assert (tmp_path / "var" / "demo" / "rescue.db").exists()

            # 3. The simulator's calls reach the operator's list within a short time.
            def incidents() -> list[dict[str, object]]:
                listed: list[dict[str, object]] = http.get("/api/incidents", headers=op).json()
                return listed

            wait_for(lambda: len(incidents()) > 0, 90, proc, out)
            first = incidents()[-1]
            assert first["status"] in ("reported", "queued", "offered", "accepted", "en_route")

        # 4. Ctrl-C stops simulator and server cleanly.
        proc.send_signal(signal.SIGINT)
        # Generous: on a loaded CI machine a clean shutdown (timers, updaters, sockets)
        # can take a while; a hang still fails.
        assert proc.wait(timeout=150) == 0, out.text[-4000:]
        assert out.lines[-1] == "stopped"

        # 5. The demo's tokens expire in a day: `rescue users list` shows each one's expiry.
        listed = subprocess.run(
            [sys.executable, "-m", "rescue.cli", "users", "list"],
            cwd=tmp_path,
            env={**env, "RESCUE_DB": "sqlite:///var/demo/rescue.db"},
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        ).stdout
        rows = {line.split()[0]: line.split() for line in listed.splitlines()[1:-1]}
        assert {"demo-operator", "demo-admin", "demo-auditor"} <= set(rows), listed
        for row in rows.values():
            created, expires = (datetime.fromisoformat(v) for v in row[3:5])
            assert abs(expires - created - timedelta(days=1)) < timedelta(minutes=10), row
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
