"""Server memory per 1,000 open WebSockets, against a bare `websockets` server.

Tablets hold a socket open all shift, so idle sockets are what a server
carries most. Both servers get the same number of idle sockets (crew sockets
on ours, which also receive their snapshot); the growth of the server's
resident memory is divided by the number of sockets.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from rescue.bench.live import ADMIN, _asdict, bare_server, rescue_server
from rescue.bootstrap import bootstrap
from rescue.settings import Settings
from rescue.simulator.network import scaled_network
from rescue.store.privacy import new_key


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _hold(url: str, sockets: int, pid: int) -> float:
    """Opens `sockets` idle sockets; returns the server's memory growth in MB."""
    before = _rss_mb(pid)
    opened = []
    for n in range(sockets):
        ws = await connect(url, max_size=None)
        await ws.recv()  # the snapshot
        opened.append(ws)
        if n % 100 == 99:
            await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)
    grown = _rss_mb(pid) - before
    for ws in opened:
        await ws.close()
    return grown


def bench_memory(sockets: int = 1000) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="rescue-mem-") as folder:
        db = f"sqlite:///{Path(folder) / 'mem.db'}"
        key = new_key()
        app = bootstrap(Settings(db=db, cipher_key=key))
        network = scaled_network(50, 100, seed=4)
        app.network.load_network(
            [_asdict(s) for s in network.stations], [_asdict(v) for v in network.vans], ADMIN
        )
        token = app.access.add_user("bench-crew", "crew", network.vans[0].van_id, ADMIN)
        app.close()
        with rescue_server(db, key, workers=1) as (port, pid):  # one process's memory
            ours = asyncio.run(_hold(f"ws://127.0.0.1:{port}/ws/crew?token={token}", sockets, pid))
    with bare_server() as (port, pid):
        theirs = asyncio.run(_hold(f"ws://127.0.0.1:{port}/van", sockets, pid))
    per_k = 1000 / sockets
    return {
        "sockets": sockets,
        "mb_per_1000": round(ours * per_k, 1),
        "bare_mb_per_1000": round(theirs * per_k, 1),
    }
