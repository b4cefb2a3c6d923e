"""The HTTP paths users take, through a real `rescue serve`, against bare FastAPI routes.

A `rescue serve` process on SQLite (and one on PostgreSQL, when asked), each
with a loaded network and a crew account per van; `wrk` (rescue.bench.wrk)
keeps 64 connections busy on loopback, rotating through every van, its
crew's token and several bodies per van:

* one fix per request: `POST /api/vans/{id}/positions` with one report, as a
  phone or a tracker sends it;
* ten fixes per request: the same with a list of ten reports;
* a read: `GET /api/vans/{id}`, authenticated.

Each path runs on each store's server and on the bare routes of
rescue.bench.bare_http (same paths, same uvicorn, the body parsed as JSON, no
token, no store) in as many processes as `rescue serve` runs (one per core
unless told otherwise): a warm-up on each, then the measured time in
`WINDOWS` windows, the servers taking turns window by window (the order
reversed each time). A machine whose speed drifts over a minute (a shared
virtual machine: the same loop of pure CPU work here takes 0.36-0.60 s from
one run to the next) then weighs on every side alike, where one long window
each put the baseline up to half a minute away from the figure it divides.
wrk shares the machine's cores with the servers; its latency is from send to
the whole answer, a new request sent on each answer. On a PostgreSQL server
on the same machine, the database's own processes' CPU is measured as well
(rescue.bench.database_cpu): they share the cores too.
"""

from __future__ import annotations

import contextlib
import math
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from rescue.api.workers import serve_workers
from rescue.bench.database_cpu import BackendClock, used_between
from rescue.bench.live import Fleet, rescue_server, seed_fleet
from rescue.bench.processes import cpu_seconds, serving
from rescue.bench.stores import SQLITE, BenchStore
from rescue.bench.wrk import Load, Request, combined, run_wrk
from rescue.store.privacy import new_key

__all__ = ["PATHS", "Scenario", "bench_http", "scenarios"]

CONNECTIONS = 64
# Server processes on each side: `rescue serve` runs one, and so does the bare server.
# The scenarios, in the order they run on each server.
PATHS = ("one_fix", "ten_fixes", "van_read")
BODIES_PER_VAN = 4
# The measured time of each path on each server, in this many turns.
WINDOWS = 3


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
    """What one side's run, or its windows together, measured."""

    load: Load
    cpu_s: float  # the server's CPU time meanwhile
    # The database's own processes' CPU time meanwhile (PostgreSQL on this machine), else None.
    database_cpu_s: float | None = None


@dataclass(frozen=True)
class Side:
    """One server under one path's load: where it listens, its pid, the requests sent to it,
    and the clock of its database's processes when they can be read."""

    port: int
    pid: int
    scenario: Scenario
    folder: Path
    database: BackendClock | None = None

    def run(self, seconds: float) -> Measured:
        """wrk for `seconds`: what it measured, and the CPU time used meanwhile."""
        backends = self.database.read() if self.database else {}
        cpu0 = cpu_seconds(self.pid)
        load = run_wrk(
            f"http://127.0.0.1:{self.port}",
            self.scenario.requests,
            self.folder,
            connections=CONNECTIONS,
            seconds=seconds,
        )
        cpu = cpu_seconds(self.pid) - cpu0
        if self.database is None:
            return Measured(load, cpu)
        return Measured(load, cpu, used_between(backends, self.database.read()))


def window_seconds(seconds: float, windows: int = WINDOWS) -> int:
    """One window's length: `seconds` shared out, rounded up to whole seconds as wrk counts."""
    return max(1, math.ceil(seconds / windows))


def measured_in_turns(
    sides: Sequence[Side], seconds: float, warmup_s: float, windows: int = WINDOWS
) -> list[Measured]:
    """Each side warmed up, then `seconds` of load in `windows` windows (`window_seconds`),
    the sides taking turns, the order reversed each window so none always follows the same
    other; each side's windows combined, their percentiles merged (rescue.bench.wrk.combined)."""
    for side in sides:
        side.run(warmup_s)
    window_s = window_seconds(seconds, windows)
    runs: list[list[Measured]] = [[] for _ in sides]
    for window in range(windows):
        order = range(len(sides)) if window % 2 == 0 else reversed(range(len(sides)))
        for i in order:
            runs[i].append(sides[i].run(window_s))
    return [_together(taken) for taken in runs]


def _together(windows: Sequence[Measured]) -> Measured:
    database = [w.database_cpu_s for w in windows]
    return Measured(
        combined([w.load for w in windows]),
        sum(w.cpu_s for w in windows),
        None if None in database else sum(d for d in database if d is not None),
    )


def _summary(scenario: Scenario, m: Measured) -> dict[str, Any]:
    load = m.load
    answered = load.requests - load.status_errors  # answered with a 2xx or 3xx
    per_s = answered / load.seconds if load.seconds > 0 else 0.0
    summary: dict[str, Any] = {
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
    if m.database_cpu_s is not None:
        summary["database_cpu_s"] = round(m.database_cpu_s, 2)
        summary["database_cpu_us_per_request"] = round(
            m.database_cpu_s / max(1, load.requests) * 1e6, 1
        )
    return summary


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
        served: dict[str, tuple[tuple[int, int], list[Scenario], BackendClock | None]] = {}
        for store in stores:
            (folder / store.name).mkdir()
            db = up.enter_context(store.fresh(folder / store.name))
            chosen = scenarios(seed_fleet(db, key, vans), start)
            served[store.name] = (
                up.enter_context(rescue_server(db, key, workers=processes)),
                chosen,
                BackendClock.for_store(db),
            )
        bare_at = up.enter_context(bare_http_server(processes))
        first = next(iter(served.values()))[1]
        ours: dict[str, dict[str, Measured]] = {name: {} for name in served}
        bare: dict[str, Measured] = {}
        # Every server is up throughout (an idle `rescue serve` takes well under 1% of a
        # core) and they take turns window by window, so all see the machine in the same state.
        for n, path in enumerate(PATHS):
            sides = [
                Side(*at, chosen[n], folder / "ours", database)
                for at, chosen, database in served.values()
            ]
            # The bare routes ignore the token: the first store's requests will do.
            sides.append(Side(*bare_at, first[n], folder / "bare"))
            *by_store, bare[path] = measured_in_turns(sides, seconds, warmup_s)
            for name, measured in zip(served, by_store, strict=True):
                ours[name][path] = measured
            for _ in sides:
                advance()
    return {
        name: {
            "vans": vans,
            "connections": CONNECTIONS,
            "seconds": seconds,
            "windows": WINDOWS,
            "window_s": window_seconds(seconds),
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
