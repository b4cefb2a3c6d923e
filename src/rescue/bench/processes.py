"""Servers the benchmarks measure, each in processes of its own: started, waited for, stopped.

One helper for every server a benchmark starts (`rescue serve`, the bare
FastAPI routes, the bare `websockets` broadcast), so each is started, found
healthy and stopped the same way, and its CPU time is read over all its
processes (a server with several workers is a parent and its children).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx


@dataclass(frozen=True)
class Served:
    port: int
    pid: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass(frozen=True)
class ServeProcesses:
    count: int
    described: str  # how many, and why, for a row's note


def serve_processes() -> ServeProcesses:
    """The processes `rescue serve` starts when not told: RESCUE_WORKERS, else one per core."""
    from rescue.api.workers import serve_workers

    count = serve_workers()
    told = bool(os.environ.get("RESCUE_WORKERS", "").strip())
    why = "set by RESCUE_WORKERS" if told else "rescue serve's default, one per core"
    return ServeProcesses(count, f"{count} server process(es) ({why})")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def own_cpu_seconds(pid: int) -> float:
    """CPU time (user and system) of one process, without its children; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # gone since it was listed
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and of its descendants still running (a server's workers)."""
    total = own_cpu_seconds(pid)
    for child in _children(pid):
        total += cpu_seconds(child)
    return total


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited during start-up")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError("server did not start")


@contextlib.contextmanager
def serving(
    module_args: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    healthz: bool = True,
    settle_s: float = 1.0,
) -> Iterator[Served]:
    """Runs `python -m MODULE ARGS... --port PORT`-style servers: `{port}` in the
    arguments is replaced by a free port. Waits for /healthz (or `settle_s`
    for a server without one); stops the server, and its workers, after."""
    port = free_port()
    argv = [sys.executable, "-m", *(a.replace("{port}", str(port)) for a in module_args)]
    proc = subprocess.Popen(
        argv,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        served = Served(port, proc.pid)
        if healthz:
            wait_healthy(served.url, proc)
        else:
            time.sleep(settle_s)
        yield served
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
