"""Webhook deliveries: event-to-delivery latency under GPS load, and deliveries per second.

One `rescue serve` on a fresh SQLite store, a fleet of vans sending a fix a
second over their crew sockets (rescue.bench.live), and a receiver in its own
process that answers every POST at once (rescue.bench.webhook_sink).

1. Latency: a webhook for every event (`*`) while the fleet reports; the
   receiver measures each CloudEvent's `time` (when the event was recorded)
   to its arrival. Baseline: the p99 round trip of one POST in the bare loop
   below (what delivery costs without following the log).
2. Throughput: a second webhook is rewound to the start of that stretch of
   the log and drains it; deliveries per second from its first arrival to its
   last. Baseline: a bare `httpx` loop posting the very same signed bodies to
   the same receiver, one after another, in the same run.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from rescue.bench.live import _drive, rescue_server, seed_fleet
from rescue.bench.processes import free_port
from rescue.bench.registry import BenchContext
from rescue.bench.report import Cond, Goal, Row
from rescue.bootstrap import bootstrap
from rescue.domain.actors import Actor
from rescue.services.delivery import LogEntry
from rescue.services.store import RescueStore
from rescue.services.webhooks import CONTENT_TYPE, SIGNATURE_HEADER, cloud_event, sign, target_name
from rescue.settings import Settings
from rescue.store.deliveries import DeliveryStore
from rescue.store.privacy import new_key

SECRET = "bench-webhook-secret-0123456789"
ADMIN = Actor(role="admin", name="bench")


def _wait(what: str, check: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"webhook bench: {what} did not happen in {timeout:.0f} s")
        time.sleep(0.2)


def _head(db: str) -> int:
    store = RescueStore(db)
    try:
        return int(store.recorder.max_notification_id() or 0)
    finally:
        store.close()


def _bodies(db: str, after: int, count: int) -> list[bytes]:
    store = RescueStore(db)
    try:
        rows = store.recorder.select_notifications(
            start=after, limit=count, inclusive_of_start=False
        )
        return [
            cloud_event(
                LogEntry(r.id, r.topic, UUID(str(r.originator_id)), r.originator_version, r.state),
                store.mapper,
            )
            for r in rows
        ]
    finally:
        store.close()


def bench_webhooks(vans: int = 1000, seconds: float = 20.0) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="rescue-webhooks-") as folder:
        db = f"sqlite:///{Path(folder) / 'webhooks.db'}"
        key = new_key()
        fleet = seed_fleet(db, key, vans)
        app = bootstrap(Settings(db=db, cipher_key=key))
        try:
            token = app.access.add_user("bench-admin", "admin", None, ADMIN)
        finally:
            app.close()
        sink_port = free_port()
        sink_url = f"http://127.0.0.1:{sink_port}"
        sink = subprocess.Popen(
            [sys.executable, "-m", "rescue.bench.webhook_sink", str(sink_port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait("the receiver", lambda: _answers(f"{sink_url}/stats/none"), 30)

            def stats(path: str) -> dict[str, Any]:
                answer: dict[str, Any] = httpx.get(f"{sink_url}/stats{path}", timeout=10).json()
                return answer

            with (
                rescue_server(db, key) as (port, pid),
                httpx.Client(
                    base_url=f"http://127.0.0.1:{port}",
                    timeout=30,
                    headers={"Authorization": f"Bearer {token}"},
                ) as http,
            ):
                # 1. Latency while the fleet reports.
                live = http.post(
                    "/api/webhooks",
                    json={"url": f"{sink_url}/live", "events": ["*"], "secret": SECRET},
                ).json()
                start = _head(db)
                asyncio.run(
                    _drive(
                        "",
                        [f"ws://127.0.0.1:{port}/ws/crew?token={t}" for t in fleet.crews],
                        0,
                        seconds,
                        pid,
                    )
                )
                end = _head(db)
                events = end - start
                _wait("the live webhook catches up", lambda: stats("/live")["count"] >= events, 300)
                latency = stats("/live")
                http.delete(f"/api/webhooks/{live['webhook_id']}")

                # 2. The same stretch of the log drained by a rewound webhook.
                drain = http.post(
                    "/api/webhooks",
                    json={"url": f"{sink_url}/drain", "events": ["*"], "secret": SECRET},
                ).json()
                deliveries = DeliveryStore(db)
                try:
                    deliveries.rewind(target_name(drain["webhook_id"]), start)
                finally:
                    deliveries.close()
                _wait("the drain", lambda: stats("/drain")["count"] >= events, 600)
                drained = stats("/drain")
                http.delete(f"/api/webhooks/{drain['webhook_id']}")

            # 3. Baseline: the same bodies, posted one after another by a bare httpx loop.
            bodies = _bodies(db, start, events)
            round_trips_ms: list[float] = []
            with httpx.Client(timeout=30) as bare:
                for body in bodies:
                    sent = time.perf_counter()
                    bare.post(
                        f"{sink_url}/bare",
                        content=body,
                        headers={
                            "Content-Type": CONTENT_TYPE,
                            SIGNATURE_HEADER: sign(SECRET, body),
                        },
                    )
                    round_trips_ms.append((time.perf_counter() - sent) * 1000)
            baseline = stats("/bare")
            round_trips_ms.sort()
            bare_p99_ms = round_trips_ms[
                min(len(round_trips_ms) - 1, int(0.99 * len(round_trips_ms)))
            ]
        finally:
            sink.terminate()
            sink.wait(timeout=30)

    def rate(tally: dict[str, Any]) -> float:
        span = (tally["last"] or 0) - (tally["first"] or 0)
        return round((tally["count"] - 1) / span, 1) if span > 0 else float("nan")

    return {
        "vans": vans,
        "seconds": seconds,
        "events": events,
        "p50_ms": latency["p50_ms"],
        "p99_ms": latency["p99_ms"],
        "delivered_live": latency["count"],
        "per_s": rate(drained),
        "bare_per_s": rate(baseline),
        "bare_p99_ms": round(bare_p99_ms, 2),
    }


def _answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=1)
    except httpx.HTTPError:
        return False
    return True


def webhook_rows(ctx: BenchContext) -> list[Row]:
    vans, seconds = (50, 3.0) if ctx.quick else (1000, 20.0)
    task = ctx.progress.add_task("webhooks: deliveries under GPS load", total=1)
    result = bench_webhooks(vans=vans, seconds=seconds)
    ctx.progress.advance(task)
    return [
        Row(
            metric=f"event to webhook delivery p99 ({vans:,} vans at 1 Hz, every event)",
            value=float(result["p99_ms"]),
            unit="ms",
            baseline=float(result["bare_p99_ms"]),
            ratio=round(result["bare_p99_ms"] / result["p99_ms"], 3),
            goal=Goal.of(Cond("value", "<=", 250.0, "ms")),
            note=(
                f"p50 {result['p50_ms']} ms; {result['delivered_live']:,} of "
                f"{result['events']:,} events delivered; receiver on the same 2 cores; "
                "baseline: p99 of one POST's round trip in the bare httpx loop"
            ),
            extra=result,
        ),
        Row(
            metric="webhook deliveries per second (one webhook, receiver answering at once)",
            value=float(result["per_s"]),
            unit="deliveries/s",
            baseline=float(result["bare_per_s"]),
            ratio=round(result["per_s"] / result["bare_per_s"], 3),
            goal=Goal.of(Cond("ratio", ">=", 0.5)),
            note="baseline: a bare httpx loop posting the same signed bodies in the same run",
            extra=result,
        ),
    ]
