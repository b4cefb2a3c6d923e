"""The API server in a background thread of this process, for `rescue demo` and `rescue simulate`.

uvicorn runs its own event loop in the thread; it installs no signal handlers
outside the main thread, so Ctrl-C reaches the main thread (the simulator),
which then asks the server to exit and waits for its shutdown (the
application's lifespan closes the store).
"""

from __future__ import annotations

import threading
import time

import httpx
import uvicorn

from rescue.settings import Settings

__all__ = ["ServerThread"]


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
        host = self.settings.host
        shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        return f"http://{shown}:{self.settings.port}"

    def start(self, timeout_s: float = 120.0) -> ServerThread:
        """Starts serving and returns once /healthz answers 200."""
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self._thread.is_alive():
                raise RuntimeError(
                    f"the server stopped while starting (is port {self.settings.port} free?)"
                )
            if self._server.started:
                try:
                    if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
            time.sleep(0.1)
        raise RuntimeError(f"the server did not answer /healthz within {timeout_s:.0f} s")

    def stop(self, timeout_s: float = 30.0) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=timeout_s)
