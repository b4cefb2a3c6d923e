"""A real `rescue serve` process for end-to-end tests: started, waited for, killed."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from rescue.bootstrap import bootstrap
from rescue.domain.actors import Actor
from rescue.places.network import Network
from rescue.settings import Settings

ADMIN = Actor(role="admin", name="tests")


@dataclasses.dataclass
class LiveServer:
    db: str
    key: str
    port: int
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    workers: int | None = None  # None: the tests' default, one process

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0, **settings: str) -> LiveServer:
        env = {**os.environ, "RESCUE_CIPHER_KEY": self.key}
        env.update({f"RESCUE_{k.upper()}": v for k, v in settings.items()})
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rescue.cli",
                "serve",
                "--db",
                self.db,
                "--port",
                str(self.port),
                *(["--workers", str(self.workers)] if self.workers else []),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not become healthy: {self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushing: what a power cut does to the process."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def seed(
    settings: Settings, network: Network, users: dict[str, tuple[str, str | None]]
) -> dict[str, str]:
    """Loads a network and users into the store; returns name -> token."""
    app = bootstrap(settings)
    try:
        app.network.load_network(
            [dataclasses.asdict(s) for s in network.stations],
            [dataclasses.asdict(v) for v in network.vans],
            ADMIN,
        )
        return {
            name: app.access.add_user(name, role, van, ADMIN) for name, (role, van) in users.items()
        }
    finally:
        app.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
