"""Cold start: from launching `rescue serve` on a store to the first 200 from /healthz.

The store is one a server has been running on: its read models are current
(a first start on a log nobody projected replays the whole log instead).

The baseline is a bare FastAPI app with one /healthz route, run by uvicorn in
a fresh interpreter and timed the same way: the floor of "start Python,
import the web stack, listen". Both are launched alternately, `repeats`
times each, and the medians compared; the page cache is warm after the first
run, as it is on a server that restarts.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from typing import Any

import httpx

from rescue.bench.corpus import Corpus

__all__ = ["bench_cold_start", "time_to_healthz"]

_HELLO = """
import sys
import uvicorn
from fastapi import FastAPI

app = FastAPI()


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def time_to_healthz(
    command: list[str], port: int, env: dict[str, str], timeout_s: float = 300.0
) -> float:
    """Seconds from launching `command` to a 200 from its /healthz; stops the process."""
    url = f"http://127.0.0.1:{port}/healthz"
    t0 = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        with httpx.Client(timeout=1.0) as http:
            while time.perf_counter() - t0 < timeout_s:
                if proc.poll() is not None:
                    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                    raise RuntimeError(f"{command[:4]} exited {proc.returncode}: {err[-2000:]}")
                try:
                    if http.get(url).status_code == 200:
                        return time.perf_counter() - t0
                except httpx.HTTPError:
                    pass
                time.sleep(0.01)
        raise RuntimeError(f"no answer from {url} within {timeout_s:.0f} s")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _store_read_models(corpus: Corpus) -> None:
    """Leaves the read models a running server keeps current, as a restart finds them."""
    from rescue.bootstrap import bootstrap
    from rescue.projections.runner import rebuild
    from rescue.projections.storage import ViewStore

    app = bootstrap(corpus.settings(), follow=False)
    store = ViewStore(corpus.db)
    try:
        rebuild(app.store, store)
    finally:
        store.close()
        app.close()


def bench_cold_start(corpus: Corpus, repeats: int = 3) -> dict[str, Any]:
    # A restart, not a first start: the server that wrote this log kept its read
    # models current, and the restarted one seeds its live board from them.
    _store_read_models(corpus)
    env = {**os.environ, "RESCUE_CIPHER_KEY": corpus.key}
    rescue_s: list[float] = []
    bare_s: list[float] = []
    for _ in range(repeats):
        port = _free_port()
        rescue_s.append(
            time_to_healthz(
                [sys.executable, "-m", "rescue.cli", "serve", "--db", corpus.db,
                 "--port", str(port), "--workers", "1"],
                port,
                env,
            )
        )  # fmt: skip
        port = _free_port()
        bare_s.append(time_to_healthz([sys.executable, "-c", _HELLO, str(port)], port, env))
    return {
        "log_events": corpus.events,
        "repeats": repeats,
        "rescue_s": [round(s, 3) for s in rescue_s],
        "bare_s": [round(s, 3) for s in bare_s],
        "rescue_median_s": round(statistics.median(rescue_s), 3),
        "bare_median_s": round(statistics.median(bare_s), 3),
    }
