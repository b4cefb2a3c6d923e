"""The API server in a background thread of this process, for `rescue demo` and `rescue simulate`.

uvicorn runs its own event loop in the thread; it installs no signal handlers
outside the main thread, so Ctrl-C reaches the main thread (the simulator),
which then asks the server to exit and waits for its shutdown (the
application's lifespan closes the store).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import uvicorn

from rescue.settings import Settings

__all__ = ["ServerProcesses", "ServerThread"]


def _url(settings: Settings) -> str:
    host = settings.host
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{shown}:{settings.port}"


def _await_health(url: str, running: Callable[[], bool], timeout_s: float, stopped: str) -> None:
    """Returns once `url`/healthz answers 200; raises `stopped` if the server stops first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not running():
            raise RuntimeError(stopped)
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer /healthz within {timeout_s:.0f} s")


class ServerThread:
    def __init__(self, settings: Settings, *, log_level: str = "warning") -> None:
        from rescue.api.main import create_app

        self.settings = settings
        config = uvicorn.Config(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            log_level=log_level,
            lifespan="on",
            # Open tablet and console sockets must not hold a shutdown up.
            timeout_graceful_shutdown=5,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="uvicorn", daemon=True)

    @property
    def url(self) -> str:
        return _url(self.settings)

    def start(self, timeout_s: float = 120.0) -> ServerThread:
        """Starts serving and returns once /healthz answers 200."""
        self._thread.start()
        _await_health(
            self.url,
            self._thread.is_alive,
            timeout_s,
            f"the server stopped while starting (is port {self.settings.port} free?)",
        )
        return self

    def stop(self, timeout_s: float = 30.0) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=timeout_s)


class ServerProcesses:
    """`rescue serve --workers N` as a child process: several server processes on one port.

    Same use as ServerThread (`start`, `url`, `stop`); the server's log goes
    to `log_path`, so the caller's terminal keeps its own readable output.
    """

    def __init__(self, settings: Settings, workers: int, log_path: Path) -> None:
        self.settings = settings
        self.workers = workers
        self.log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return _url(self.settings)

    def start(self, timeout_s: float = 180.0) -> ServerProcesses:
        """Starts serving and returns once /healthz answers 200."""
        from rescue.api.workers import worker_environment

        env = {**os.environ, **worker_environment(self.settings), "RESCUE_LOG_LEVEL": "WARNING"}
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "rescue.cli", "serve", "--workers", str(self.workers)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        proc = self._proc
        _await_health(
            self.url,
            lambda: proc.poll() is None,
            timeout_s,
            f"the server stopped while starting (is port {self.settings.port} free?); "
            f"see {self.log_path}",
        )
        return self

    def stop(self, timeout_s: float = 30.0) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout_s)
