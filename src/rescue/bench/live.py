"""End-to-end live feed: GPS from vans to board consoles, and the CPU it costs the server.

A real `rescue serve` process on SQLite; the load generator (in this process,
asyncio) opens one crew socket per van, each sending its position once a
second stamped with the send time, and `clients` board sockets that record,
for every position change they receive, now minus that stamp: the
position-to-client latency, load generator included.

The same load is then pointed at a bare `websockets` server that broadcasts
each received position to every board socket (`websockets.broadcast`, one
frame per position): the baseline for server CPU per delivered change. The
server's CPU time is read from /proc for the measured window only.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import connect

from rescue.actors import Actor
from rescue.application import RescueApp, load_network
from rescue.privacy import new_key
from rescue.settings import Settings
from rescue.simulator.network import scaled_network

ADMIN = Actor(role="admin", name="bench")


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    changes: int = 0
    measuring: bool = False


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited during start-up")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError("server did not start")


async def _van(url: str, stop: asyncio.Event, rng: random.Random) -> None:
    async with connect(url, max_size=None) as ws:
        await ws.recv()  # the snapshot (or nothing, for the bare server)
        await asyncio.sleep(rng.random())  # spread the fleet over the second
        lat, lon = 30 + rng.random() * 10, 110 + rng.random() * 10

        async def drain() -> None:
            async for _ in ws:
                pass

        reader = asyncio.ensure_future(drain())
        try:
            while not stop.is_set():
                lat += (rng.random() - 0.5) / 1000
                report = {"lat": lat, "lon": lon, "recorded_at": datetime.now(UTC).isoformat()}
                await ws.send(orjson.dumps({"type": "positions", "reports": [report]}).decode())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)
        finally:
            reader.cancel()


async def _board(url: str, tally: Tally, stop: asyncio.Event) -> None:
    async with connect(url, max_size=None) as ws:
        while not stop.is_set():
            try:
                data = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            now = time.time()
            message = orjson.loads(data)
            kind = message.get("type")
            changes = message["changes"] if kind == "batch" else [message]
            for change in changes:
                fields = change.get("changes") or {}
                at = fields.get("position_at") or fields.get("recorded_at")
                if at is None or not tally.measuring:
                    continue
                tally.changes += 1
                sent = datetime.fromisoformat(at).timestamp()
                tally.latencies_ms.append((now - sent) * 1000)


async def _drive(
    board_url: str, van_urls: list[str], clients: int, seconds: float, pid: int
) -> tuple[Tally, float]:
    stop = asyncio.Event()
    tally = Tally()
    rng = random.Random(5)
    boards = [asyncio.ensure_future(_board(board_url, tally, stop)) for _ in range(clients)]
    await asyncio.sleep(2.0)  # snapshots delivered before the fleet starts
    vans = []
    for url in van_urls:
        vans.append(asyncio.ensure_future(_van(url, stop, rng)))
        if len(vans) % 100 == 0:
            await asyncio.sleep(0.05)  # don't open a thousand sockets in one instant
    await asyncio.sleep(3.0)  # warm-up
    tally.measuring = True
    cpu0 = _cpu_seconds(pid)
    await asyncio.sleep(seconds)
    cpu = _cpu_seconds(pid) - cpu0
    tally.measuring = False
    stop.set()
    await asyncio.gather(*vans, *boards, return_exceptions=True)
    return tally, cpu


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_live(vans: int = 1000, clients: int = 200, seconds: float = 20.0) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="rescue-live-") as folder:
        db = f"sqlite:///{Path(folder) / 'live.db'}"
        key = new_key()
        app = RescueApp(Settings(db=db, cipher_key=key))
        network = scaled_network(max(1, vans // 2), vans, seed=4)
        load_network(
            app,
            [_asdict(s) for s in network.stations],
            [_asdict(v) for v in network.vans],
            ADMIN,
        )
        operator = app.add_user("bench-operator", "operator", None, ADMIN)
        crews = [app.add_user(f"bench-{v.van_id}", "crew", v.van_id, ADMIN) for v in network.vans]
        app.close()

        port = _free_port()
        env = {**os.environ, "RESCUE_CIPHER_KEY": key, "RESCUE_WS_QUEUE_LIMIT": "100000"}
        server = subprocess.Popen(
            [sys.executable, "-m", "rescue.cli", "serve", "--db", db, "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            _wait_healthy(f"http://127.0.0.1:{port}", server)
            ours, ours_cpu = asyncio.run(
                _drive(
                    f"ws://127.0.0.1:{port}/ws/board?token={operator}",
                    [f"ws://127.0.0.1:{port}/ws/crew?token={t}" for t in crews],
                    clients, seconds, server.pid,
                )
            )
        finally:
            server.terminate()
            server.wait(timeout=30)

        bare_port = _free_port()
        bare = subprocess.Popen(
            [sys.executable, "-m", "rescue.bench.bare_broadcast", str(bare_port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(1.0)
            theirs, theirs_cpu = asyncio.run(
                _drive(
                    f"ws://127.0.0.1:{bare_port}/board",
                    [f"ws://127.0.0.1:{bare_port}/van" for _ in crews],
                    clients, seconds, bare.pid,
                )
            )
        finally:
            bare.terminate()
            bare.wait(timeout=30)

    expected = vans * seconds * clients
    ours_per_change = ours_cpu / max(1, ours.changes) * 1e6
    bare_per_change = theirs_cpu / max(1, theirs.changes) * 1e6
    return {
        "vans": vans,
        "clients": clients,
        "seconds": seconds,
        "changes_expected": int(expected),
        "changes_received": ours.changes,
        "p50_ms": round(statistics.median(ours.latencies_ms), 1) if ours.latencies_ms else None,
        "p99_ms": round(_percentile(ours.latencies_ms, 0.99), 1),
        "server_cpu_s": round(ours_cpu, 2),
        "cpu_us_per_change": round(ours_per_change, 2),
        "bare_changes_received": theirs.changes,
        "bare_p99_ms": round(_percentile(theirs.latencies_ms, 0.99), 1),
        "bare_cpu_s": round(theirs_cpu, 2),
        "bare_cpu_us_per_change": round(bare_per_change, 2),
        "cpu_ratio": round(ours_per_change / bare_per_change, 2) if bare_per_change else None,
    }


def _asdict(spec: Any) -> dict[str, Any]:
    import dataclasses

    return dataclasses.asdict(spec)


if __name__ == "__main__":
    import json

    vans_n, clients_n, secs = (int(a) for a in (sys.argv[1:4] or ["100", "20", "5"]))
    print(json.dumps(bench_live(vans_n, clients_n, secs), indent=2))
