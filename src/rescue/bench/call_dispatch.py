"""An operator's call and dispatch through a real `rescue serve`, idle and under the fleet's load.

The operator takes a call (`POST /api/incidents`) and dispatches it
(`POST /api/incidents/{id}/dispatch`) one after the other, as the console
does; the time from sending the call to the dispatch's answer (the offer made)
is one sample. First on an idle server, then while every van reports its
position once a second over its crew socket and board consoles watch: the
same load as the live-feed benchmark (rescue.bench.live). The operator's
client runs in a process of its own, as a console runs on its own machine: in
the load generator's event loop, which that load keeps busy, the figures were
mostly the generator's own delays (p99 5.3 s against 0.35 s idle). For the
same reason its cyclic garbage collector is off while it calls: one full
collection there took 81 ms on the busy machine, and counted as the
server's.

Each sample keeps its two requests apart too (the call, then the dispatch), so
a slow sample shows which of the two it was.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from rescue.bench.live import _collector_paused, _drive, _percentile, rescue_server, seed_fleet
from rescue.bench.stores import SQLITE, BenchStore
from rescue.domain.validation import vin_with_check_digit
from rescue.simulator.network import scaled_network
from rescue.store.privacy import new_key

PAUSE_S = 0.2  # between one dispatch's answer and the next call, as an operator types


def _call(n: int, lat: float, lon: float) -> dict[str, Any]:
    return {
        "caller": {"name": "Wang Wei", "phone": f"138{n % 100_000_000:08d}"},
        "vehicle": {
            "vin": vin_with_check_digit(f"LJNTGU2S0JN{n % 1_000_000:06d}"),
            "plate": "豫A12345",
            "model_series": "PALADIN",
            "odometer_km": 42_000,
            "sold_on": "2022-03-01",
        },
        "location": {"lat": lat, "lon": lon, "description": "bench call"},
        "fault": {"category": "battery", "description": "will not start"},
        "safety": {
            "on_expressway": False,
            "at_night": False,
            "passengers": 0,
            "injury": False,
            "vulnerable": False,
        },
    }


# One call taken and dispatched: (ms from sending the call to its answer, ms of the dispatch).
Sample = tuple[float, float]


async def _operator(
    base: str, token: str, places: list[tuple[float, float]], calls: int, first: int
) -> tuple[list[Sample], int]:
    """Takes and dispatches `calls` calls in turn; (samples, failures)."""
    samples: list[Sample] = []
    failed = 0
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as http:
        for n in range(first, first + calls):
            lat, lon = places[n % len(places)]
            started = time.perf_counter()
            taken = await http.post("/api/incidents", json=_call(n, lat, lon))
            answered = time.perf_counter()
            ok = taken.status_code == 201
            if ok:
                incident_id = taken.json()["incident_id"]
                sent = await http.post(f"/api/incidents/{incident_id}/dispatch", json={})
                ok = sent.status_code < 300
            if ok:
                done = time.perf_counter()
                samples.append(((answered - started) * 1000, (done - answered) * 1000))
            else:
                failed += 1
            await asyncio.sleep(PAUSE_S)
    return samples, failed


def _operate(
    base: str, token: str, places: list[tuple[float, float]], calls: int, first: int
) -> tuple[list[Sample], int]:
    """`_operator` in a process of its own (run by `_in_own_process`)."""
    with _collector_paused():
        return asyncio.run(_operator(base, token, places, calls, first))


async def _in_own_process(
    pool: ProcessPoolExecutor,
    base: str,
    token: str,
    places: list[tuple[float, float]],
    calls: int,
    first: int,
) -> tuple[list[Sample], int]:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(pool, _operate, base, token, places, calls, first)


def _summary(samples: list[Sample], failed: int) -> dict[str, Any]:
    """Percentiles of the whole (call and dispatch), and the p99 of each of the two alone."""
    whole = [taken + sent for taken, sent in samples]
    return {
        "calls": len(samples) + failed,
        "failed": failed,
        "p50_ms": round(_percentile(whole, 0.50), 1),
        "p99_ms": round(_percentile(whole, 0.99), 1),
        "max_ms": round(max(whole), 1) if whole else float("nan"),
        "call_p99_ms": round(_percentile([taken for taken, _ in samples], 0.99), 1),
        "dispatch_p99_ms": round(_percentile([sent for _, sent in samples], 0.99), 1),
    }


def bench_call_dispatch(
    vans: int = 1000,
    clients: int = 200,
    calls: int = 100,
    workers: int | None = None,
    store: BenchStore = SQLITE,
) -> dict[str, Any]:
    """The calls idle, then under load, on a fresh `store`; `workers`: the server's processes
    (default: `rescue serve`'s own)."""
    with (
        tempfile.TemporaryDirectory(prefix="rescue-calls-") as folder,
        store.fresh(Path(folder)) as db,
    ):
        key = new_key()
        fleet = seed_fleet(db, key, vans)
        # The same network seed_fleet loaded: calls come in near its stations.
        network = scaled_network(max(1, vans // 2), vans, seed=4)
        rng = random.Random(11)
        places = [(s.lat + rng.uniform(-0.05, 0.05), s.lon) for s in network.stations]
        with (
            rescue_server(db, key, workers=workers, RESCUE_WS_QUEUE_LIMIT="100000") as (port, pid),
            # spawn: a fresh interpreter, not a fork of this one with its threads and loop
            ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool,
        ):
            base = f"http://127.0.0.1:{port}"
            idle = asyncio.run(_in_own_process(pool, base, fleet.operator, places, calls, 0))
            loaded: list[tuple[list[Sample], int]] = []

            async def under_load() -> None:
                loaded.append(
                    await _in_own_process(pool, base, fleet.operator, places, calls, calls)
                )

            tally, _ = asyncio.run(
                _drive(
                    f"ws://127.0.0.1:{port}/ws/board?token={fleet.operator}",
                    [f"ws://127.0.0.1:{port}/ws/crew?token={t}" for t in fleet.crews],
                    clients,
                    0.0,
                    pid,
                    during=under_load,
                )
            )
    return {
        "store": store.name,
        "vans": vans,
        "clients": clients,
        "idle": _summary(*idle),
        "loaded": _summary(*loaded[0]),
        "board_changes_while_loaded": tally.changes,
        "position_p99_ms_while_loaded": round(_percentile(tally.latencies_ms, 0.99), 1),
    }


if __name__ == "__main__":
    import json
    import sys

    vans_n, clients_n, calls_n = (int(a) for a in (sys.argv[1:4] or ["200", "20", "30"]))
    print(json.dumps(bench_call_dispatch(vans_n, clients_n, calls_n), indent=2))
