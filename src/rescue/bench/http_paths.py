"""The HTTP paths users take, through a real `rescue serve`, against bare FastAPI routes.

A `rescue serve` process on SQLite (and one on PostgreSQL, when asked), each
with a loaded network and a crew account per van; `wrk` (rescue.bench.wrk)
keeps 64 connections busy on loopback, rotating through every van, its
crew's token and several bodies per van:

* one fix per request: `POST /api/vans/{id}/positions` with one report, as a
  phone or a tracker sends it;
* ten fixes per request: the same with a list of ten reports;
* a read: `GET /api/vans/{id}`, authenticated.

Each runs for a warm-up, then for the measured window on each store's server;
right after, the same requests go to the bare routes of rescue.bench.bare_http (same paths, same
uvicorn, the body parsed as JSON, no token, no store) in as many processes
as `rescue serve` runs (one per core unless told otherwise). wrk shares the
machine's cores with the servers; its latency is from send to the whole
answer, a new request sent on each answer.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from rescue.api.workers import serve_workers
from rescue.bench.live import Fleet, rescue_server, seed_fleet
from rescue.bench.processes import cpu_seconds, serving
from rescue.bench.stores import SQLITE, BenchStore
from rescue.bench.wrk import Load, Request, run_wrk
from rescue.store.privacy import new_key

__all__ = ["PATHS", "Scenario", "bench_http", "scenarios"]

CONNECTIONS = 64
# Server processes on each side: `rescue serve` runs one, and so does the bare server.
# The scenarios, in the order they run on each server.
PATHS = ("one_fix", "ten_fixes", "van_read")
BODIES_PER_VAN = 4


@dataclass(frozen=True)
class Scenario:
    name: str
    positions: int  # per request; 0 for a read
    requests: list[Request]


def _report(lat: float, lon: float, at: datetime) -> dict[str, Any]:
    return {
        "lat": round(lat, 6),
        "lon": round(lon, 6),
        "recorded_at": at.isoformat().replace("+00:00", "Z"),
        "speed_kmh": 42.5,
        "heading": 180.0,
        "accuracy_m": 5.0,
    }


def _position_requests(fleet: Fleet, fixes: int, start: datetime) -> list[Request]:
    """BODIES_PER_VAN requests per van, vans interleaved, each body with its own fixes."""
    requests = []
    for variant in range(BODIES_PER_VAN):
        for n, (van_id, token) in enumerate(zip(fleet.van_ids, fleet.crews, strict=True)):
            reports = [
                _report(
                    30 + (n % 100) / 10 + variant * 1e-3 + fix * 1e-4,
                    110 + (n // 100) / 10,
                    start + timedelta(seconds=variant * fixes + fix),
                )
                for fix in range(fixes)
            ]
            body = orjson.dumps(reports[0] if fixes == 1 else reports)
            requests.append(Request("POST", f"/api/vans/{van_id}/positions", token, body))
    return requests


def scenarios(fleet: Fleet, start: datetime) -> list[Scenario]:
    one_fix, ten_fixes, van_read = PATHS
    return [
        Scenario(one_fix, 1, _position_requests(fleet, 1, start)),
        Scenario(ten_fixes, 10, _position_requests(fleet, 10, start)),
        Scenario(
            van_read,
            0,
            [
                Request("GET", f"/api/vans/{van_id}", token)
                for van_id, token in zip(fleet.van_ids, fleet.crews, strict=True)
            ],
        ),
    ]


@contextlib.contextmanager
def bare_http_server(workers: int = 1) -> Iterator[tuple[int, int]]:
    """The bare FastAPI routes of rescue.bench.bare_http in `workers` processes: (port, pid)."""
    with serving(["rescue.bench.bare_http", "{port}", str(workers)]) as served:
        yield served.port, served.pid


@dataclass(frozen=True)
class Measured:
    load: Load
    cpu_s: float  # the server's CPU time in the measured window


def _measure(
    port: int, pid: int, scenario: Scenario, folder: Path, seconds: float, warmup_s: float
) -> Measured:
    url = f"http://127.0.0.1:{port}"
    run_wrk(url, scenario.requests, folder, connections=CONNECTIONS, seconds=warmup_s)
    cpu0 = cpu_seconds(pid)
    load = run_wrk(url, scenario.requests, folder, connections=CONNECTIONS, seconds=seconds)
    return Measured(load, cpu_seconds(pid) - cpu0)


def _summary(scenario: Scenario, m: Measured) -> dict[str, Any]:
    load = m.load
    answered = load.requests - load.status_errors  # answered with a 2xx or 3xx
    per_s = answered / load.seconds if load.seconds > 0 else 0.0
    return {
        "requests": load.requests,
        "seconds": round(load.seconds, 2),
        "requests_per_s": round(per_s, 1),
        "positions_per_s": round(per_s * scenario.positions, 1),
        "p50_ms": round(load.p50_ms, 2),
        "p99_ms": round(load.p99_ms, 2),
        "status_errors": load.status_errors,
        "socket_errors": load.socket_errors,
        "server_cpu_s": round(m.cpu_s, 2),
        "server_cpu_us_per_request": round(m.cpu_s / max(1, load.requests) * 1e6, 1),
    }


def bench_http(
    vans: int = 1000,
    seconds: float = 10.0,
    warmup_s: float = 3.0,
    advance: Callable[[], None] = lambda: None,
    workers: int | None = None,
    stores: Sequence[BenchStore] = (SQLITE,),
) -> dict[str, dict[str, Any]]:
    """Every scenario through `rescue serve` on each store and through the bare routes.

    Every server runs `workers` processes (default: as many as `rescue serve`
    starts). Returns, by store name, each scenario's figures beside the bare
    routes' (one measurement, the same for every store). `advance` is called
    after each measured run ((stores + 1) x the scenarios in all).
    """
    processes = workers or serve_workers()
    with (
        tempfile.TemporaryDirectory(prefix="rescue-http-") as scratch,
        contextlib.ExitStack() as up,
    ):
        folder = Path(scratch)
        key = new_key()
        start = datetime.now(UTC) - timedelta(hours=1)
        served: dict[str, tuple[tuple[int, int], list[Scenario]]] = {}
        for store in stores:
            (folder / store.name).mkdir()
            db = up.enter_context(store.fresh(folder / store.name))
            chosen = scenarios(seed_fleet(db, key, vans), start)
            served[store.name] = (
                up.enter_context(rescue_server(db, key, workers=processes)),
                chosen,
            )
        bare_at = up.enter_context(bare_http_server(processes))
        first = next(iter(served.values()))[1]
        ours: dict[str, dict[str, Measured]] = {name: {} for name in served}
        bare: dict[str, Measured] = {}
        # Every server is up throughout (an idle `rescue serve` takes well under 1% of a
        # core) and they take turns path by path, so all see the machine in the same state.
        for n, path in enumerate(PATHS):
            for name, (at, chosen) in served.items():
                ours[name][path] = _measure(*at, chosen[n], folder / "ours", seconds, warmup_s)
                advance()
            # The bare routes ignore the token: the first store's requests will do.
            bare[path] = _measure(*bare_at, first[n], folder / "bare", seconds, warmup_s)
            advance()
    return {
        name: {
            "vans": vans,
            "connections": CONNECTIONS,
            "seconds": seconds,
            "warmup_s": warmup_s,
            "server_processes": processes,
            "store": name,
            **{
                s.name: {"ours": _summary(s, ours[name][s.name]), "bare": _summary(s, bare[s.name])}
                for s in first
            },
        }
        for name in served
    }


if __name__ == "__main__":
    import json

    vans_n, secs = (float(a) for a in (sys.argv[1:3] or ["200", "3"]))
    print(json.dumps(bench_http(int(vans_n), secs, warmup_s=1.0), indent=2))
