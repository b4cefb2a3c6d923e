"""End-to-end live feed: GPS from vans to board consoles, and the CPU it costs the server.

A real `rescue serve` process on SQLite (then on PostgreSQL, when asked),
with its default server processes (one per core); the load generator (in this process,
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
import gc
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from websockets.asyncio.client import connect

from rescue.bench.processes import cpu_seconds, serving
from rescue.bench.stores import SQLITE, BenchStore, positions_stored
from rescue.bootstrap import bootstrap
from rescue.domain.actors import Actor
from rescue.settings import Settings
from rescue.simulator.network import scaled_network
from rescue.store.privacy import new_key

ADMIN = Actor(role="admin", name="bench")


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    changes: int = 0
    measuring: bool = False


async def _van(url: str, stop: asyncio.Event, opened: list[Any]) -> None:
    """One tablet's socket: opened, then kept drained of acks until the end."""
    async with connect(url, max_size=None) as ws:
        await ws.recv()  # the snapshot (or its stand-in, for the bare server)
        opened.append(ws)
        async for _ in ws:
            if stop.is_set():
                return


async def _fleet(opened: list[Any], stop: asyncio.Event, rng: random.Random) -> None:
    """Every open tablet sends its position once a second, spread evenly over the second.

    One scheduler rather than a timer per van: the generator's own overhead is
    part of the measured latency, so it is kept small.
    """
    places = {id(ws): (30 + rng.random() * 10, 110 + rng.random() * 10) for ws in opened}
    slots = 100
    tick = 1.0 / slots
    next_at = time.monotonic()
    while not stop.is_set():
        second = int(time.monotonic() * slots) % slots
        for ws in opened[second::slots]:
            lat, lon = places[id(ws)]
            report = {
                "lat": lat + rng.random() / 1000,
                "lon": lon,
                "recorded_at": datetime.now(UTC).isoformat(),
            }
            with contextlib.suppress(Exception):
                await ws.send(orjson.dumps({"type": "positions", "reports": [report]}).decode())
        next_at += tick
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))


async def _board(url: str, tally: Tally, stop: asyncio.Event, timed: bool) -> None:
    """A console; `timed` ones parse every frame for latency, the rest only count changes.

    Parsing 200 consoles' worth of frames would make the load generator, not
    the server, the bottleneck on two cores; a sample of consoles gives the
    latency distribution, every console counts what it was sent.
    """
    async with connect(url, max_size=None) as ws:
        # The frames as bytes, undecoded, and no timeout per frame (a task each): at a
        # million changes a second the generator's own cost per frame decides what the
        # consoles can take in. The board is cancelled at the end, waiting or not.
        while not stop.is_set():
            raw = await ws.recv(decode=False)
            now = time.time()
            if not timed:
                if tally.measuring:
                    frames = raw.count(b'"log_position"')
                    tally.changes += frames - 1 if raw.startswith(b'{"type":"batch"') else frames
                continue
            message = orjson.loads(raw)
            kind = message.get("type")
            changes = message["changes"] if kind == "batch" else [message]
            for change in changes:
                fields = change.get("changes") or {}
                at = fields.get("position_at") or fields.get("recorded_at")
                if not tally.measuring:
                    continue
                tally.changes += 1
                if at is None:
                    continue
                sent = datetime.fromisoformat(at).timestamp()
                tally.latencies_ms.append((now - sent) * 1000)


async def _drive(
    board_url: str,
    van_urls: list[str],
    clients: int,
    seconds: float,
    pid: int,
    during: Callable[[], Awaitable[None]] | None = None,
) -> tuple[Tally, float]:
    """Boards watching and every van reporting at 1 Hz; the measured window is
    `seconds` long, or as long as `during` takes (work measured under that load)."""
    stop = asyncio.Event()
    tally = Tally()
    rng = random.Random(5)
    timed = max(1, clients // 10)
    boards = [
        asyncio.ensure_future(_board(board_url, tally, stop, n < timed)) for n in range(clients)
    ]
    await asyncio.sleep(2.0)  # snapshots delivered before the fleet starts
    vans = []
    opened: list[Any] = []
    for url in van_urls:
        vans.append(asyncio.ensure_future(_van(url, stop, opened)))
        if len(vans) % 100 == 0:
            await asyncio.sleep(0.05)  # don't open a thousand sockets in one instant
    deadline = time.monotonic() + 60
    while len(opened) < len(van_urls) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    fleet = asyncio.ensure_future(_fleet(opened, stop, rng))
    vans.append(fleet)
    await asyncio.sleep(3.0)  # warm-up, every tablet connected and sending
    with _collector_paused():
        tally.measuring = True
        cpu0 = cpu_seconds(pid)
        await (during() if during is not None else asyncio.sleep(seconds))
        cpu = cpu_seconds(pid) - cpu0
        tally.measuring = False
    stop.set()
    for task in (*vans, *boards):
        task.cancel()  # idle sockets wait for frames that will not come
    await asyncio.gather(*vans, *boards, return_exceptions=True)
    return tally, cpu


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The generator's cyclic garbage collector off for the measured window.

    Thousands of sockets' frames make it collect often, and each full
    collection stopped the generator's loop for 0.1-0.4 s at 2,000 vans: every
    console's frames waited and counted as the server's latency. What the
    generator makes is freed by reference counting; the cycles wait until after.
    """
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@contextlib.contextmanager
def rescue_server(
    db: str, key: str, *, workers: int | None = None, **settings: str
) -> Iterator[tuple[int, int]]:
    """A `rescue serve` process on `db`, healthy; yields (port, pid) and stops it after.

    `workers`: its server processes (default: `rescue serve`'s own, one per core).
    """
    args = ["rescue.cli", "serve", "--db", db, "--port", "{port}"]
    if workers is not None:
        args += ["--workers", str(workers)]
    with serving(args, env={"RESCUE_CIPHER_KEY": key, **settings}) as served:
        yield served.port, served.pid


@contextlib.contextmanager
def bare_server() -> Iterator[tuple[int, int]]:
    """The bare `websockets` broadcast server of `rescue.bench.bare_broadcast`: (port, pid)."""
    with serving(["rescue.bench.bare_broadcast", "{port}"], healthz=False) as served:
        yield served.port, served.pid


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass(frozen=True)
class Fleet:
    """A store's vans and the tokens that act for them."""

    van_ids: list[str]
    crews: list[str]  # each van's crew token, in the order of van_ids
    operator: str


def seed_fleet(db: str, key: str, vans: int) -> Fleet:
    """Loads a network of `vans` vans (half as many stations) into `db`, with a crew
    account per van and one operator."""
    app = bootstrap(Settings(db=db, cipher_key=key))
    try:
        network = scaled_network(max(1, vans // 2), vans, seed=4)
        app.network.load_network(
            [_asdict(s) for s in network.stations],
            [_asdict(v) for v in network.vans],
            ADMIN,
        )
        operator = app.access.add_user("bench-operator", "operator", None, ADMIN)
        crews = [
            app.access.add_user(f"bench-{v.van_id}", "crew", v.van_id, ADMIN) for v in network.vans
        ]
    finally:
        app.close()
    return Fleet([v.van_id for v in network.vans], crews, operator)


def bench_live(
    vans: int = 1000,
    clients: int = 200,
    seconds: float = 20.0,
    stores: Sequence[BenchStore] = (SQLITE,),
    workers: int | None = None,
) -> dict[str, dict[str, Any]]:
    """The live feed through `rescue serve` on each store (a fresh one each), then through
    the bare broadcast server once; by store name, its figures beside the bare server's.

    `workers`: the server's processes (default: `rescue serve`'s own, one per core)."""
    ours: dict[str, tuple[Tally, float, int]] = {}
    for store in stores:
        with (
            tempfile.TemporaryDirectory(prefix="rescue-live-") as folder,
            store.fresh(Path(folder)) as db,
        ):
            key = new_key()
            fleet = seed_fleet(db, key, vans)
            with rescue_server(db, key, workers=workers, RESCUE_WS_QUEUE_LIMIT="100000") as (
                port,
                pid,
            ):
                tally, cpu = asyncio.run(
                    _drive(
                        f"ws://127.0.0.1:{port}/ws/board?token={fleet.operator}",
                        [f"ws://127.0.0.1:{port}/ws/crew?token={t}" for t in fleet.crews],
                        clients,
                        seconds,
                        pid,
                    )
                )
            ours[store.name] = (tally, cpu, positions_stored(db))

    with bare_server() as (port, pid):
        theirs, theirs_cpu = asyncio.run(
            _drive(
                f"ws://127.0.0.1:{port}/board",
                [f"ws://127.0.0.1:{port}/van" for _ in range(vans)],
                clients,
                seconds,
                pid,
            )
        )
    bare = {
        "bare_changes_received": theirs.changes,
        "bare_p99_ms": round(_percentile(theirs.latencies_ms, 0.99), 1),
        "bare_cpu_s": round(theirs_cpu, 2),
        "bare_cpu_us_per_change": round(theirs_cpu / max(1, theirs.changes) * 1e6, 2),
    }
    return {name: _figures(vans, clients, seconds, *got, bare) for name, got in ours.items()}


def _figures(
    vans: int,
    clients: int,
    seconds: float,
    tally: Tally,
    cpu: float,
    stored: int,
    bare: dict[str, Any],
) -> dict[str, Any]:
    """One store's live-feed figures beside the bare server's."""
    per_change = cpu / max(1, tally.changes) * 1e6
    bare_per_change = bare["bare_cpu_us_per_change"]
    return {
        "vans": vans,
        "clients": clients,
        "seconds": seconds,
        "changes_expected": int(vans * seconds * clients),
        "changes_received": tally.changes,
        "positions_stored": stored,
        "p50_ms": round(statistics.median(tally.latencies_ms), 1) if tally.latencies_ms else None,
        "p99_ms": round(_percentile(tally.latencies_ms, 0.99), 1),
        "server_cpu_s": round(cpu, 2),
        "cpu_us_per_change": round(per_change, 2),
        **bare,
        "cpu_ratio": round(per_change / bare_per_change, 2) if bare_per_change else None,
    }


def _asdict(spec: Any) -> dict[str, Any]:
    import dataclasses

    return dataclasses.asdict(spec)


if __name__ == "__main__":
    import json

    vans_n, clients_n, secs = (int(a) for a in (sys.argv[1:4] or ["100", "20", "5"]))
    print(json.dumps(bench_live(vans_n, clients_n, secs), indent=2))
