"""Read models: incremental equals a rebuild; a crash mid-batch neither loses nor repeats."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from typing import Any

from rescue.bootstrap import Rescue, bootstrap
from rescue.domain.dispatch import DispatchParams
from rescue.projections.runner import ProjectionRunner, load_models, rebuild
from rescue.projections.storage import ViewStore
from rescue.services.positions import PositionReport, PositionWriter, _Job
from tests.builders import (
    OPERATOR,
    crew,
    line_network,
    load,
    open_app,
    report,
    reported,
    work_to_completion,
)

CATEGORIES = ["battery", "flat_tire", "accident", "engine_failure", "lockout"]


def busy_day(app: Rescue, calls: int, seed: int, runner: ProjectionRunner | None = None) -> None:
    """Calls worked to completion, declined, queued and cancelled, with GPS in between."""
    rng = random.Random(seed)
    stations, vans = line_network(6)
    load(app, stations, vans)
    start = datetime.now(UTC) - timedelta(hours=3)
    for n in range(calls):
        incident_id = reported(
            app,
            report(
                34.7 + rng.random() / 5,
                113.6,
                rng.choice(CATEGORIES),
                n=n,
                injury=rng.random() < 0.2,
            ),
        )
        reply = app.dispatch.dispatch(incident_id, OPERATOR.actor)
        van_id = reply.body["van_id"]
        fate = rng.random()
        if van_id is None:
            app.steps.take(incident_id, "cancel", {"reason": "customer fixed it"}, OPERATOR)
        elif fate < 0.15:
            app.steps.take(incident_id, "decline", {"reason": "flat tyre on the van"}, crew(van_id))
        elif fate < 0.25:
            app.steps.take(incident_id, "cancel", {"reason": "duplicate call"}, OPERATOR)
        else:
            tow = "S1" if rng.random() < 0.3 else None
            work_to_completion(app, incident_id, van_id, tow_station_id=tow)
        app.view.fleet_index(app.clock(), DispatchParams())
        for v in vans[:3]:
            app.store.append([_track(app, v["van_id"], start + timedelta(seconds=n), rng)])
        if runner is not None and rng.random() < 0.5:
            runner.step()


def _track(app: Rescue, van_id: str, at: datetime, rng: random.Random) -> Any:
    from rescue.domain.ids import track_uuid

    track = app.store.repository.get(track_uuid(van_id))
    track.report(34.7 + rng.random() / 10, 113.6 + rng.random() / 10, at)
    return track


def stored_docs(url: str) -> dict[str, dict[str, Any]]:
    store = ViewStore(url)
    try:
        return load_models(store).docs
    finally:
        store.close()


def test_incremental_read_models_equal_a_rebuild(store_url: str) -> None:
    with open_app(store_url) as app:
        # 1. A busy day, with the runner catching up now and then along the way.
        runner = ProjectionRunner(app.store, ViewStore(store_url))
        busy_day(app, calls=40, seed=3, runner=runner)
        while runner.step():
            pass
        assert runner.models is not None
        assert runner.models.position == app.store.recorder.max_notification_id()
        # 2. What was stored incrementally is exactly what a rebuild from scratch gives.
        rebuilt = rebuild(app.store, None)
        assert stored_docs(store_url) == rebuilt.docs
        # 3. The models say something: KPIs counted, every van counted once, no closed call
        #    on the board.
        kpis = rebuilt.docs["kpis"].values()
        assert sum(b["completed"] for b in kpis) > 10
        assert all(
            d["status"] not in ("completed", "closed", "cancelled")
            for d in rebuilt.docs["board"].values()
        )
        loads = rebuilt.docs["station_load"].values()
        assert sum(s[k] for s in loads for k in ("available", "offered", "busy", "off_duty")) == 6
        vans = rebuilt.docs["vans"].values()
        assert sum(s["available"] for s in loads) == sum(v["status"] == "available" for v in vans)
        runner._store.close()


def test_killing_the_projection_mid_batch_loses_and_repeats_nothing(store_url: str) -> None:
    with open_app(store_url) as app:
        # 1. A log long enough that each run is killed while writing a batch.
        busy_day(app, calls=30, seed=5)
        writer = PositionWriter(app.runner)
        writer.close()
        start = datetime.now(UTC) - timedelta(hours=4)
        for second in range(100):
            writer._append(
                [
                    _Job(
                        f"V{v}",
                        [
                            PositionReport(
                                34.7, 113.6 + v / 100, start + timedelta(seconds=second * 100 + k)
                            )
                            for k in range(100)
                        ],
                        None,
                        Future(),
                    )
                    for v in range(1, 7)
                ],
                read_back=True,
            )
        head = app.store.recorder.max_notification_id()
        expected = rebuild(app.store, None).docs
    env = dict(os.environ)  # no cipher key: read models hold nothing personal
    command = [
        sys.executable,
        "-m",
        "rescue.cli",
        "projections",
        "run",
        "--db",
        store_url,
        "--exit-when-current",
    ]
    # 2. Start the projection and kill -9 it at a random moment after it has stored a
    #    batch (so while it works on the next), five times.
    rng = random.Random(11)
    store = ViewStore(store_url)
    kills, positions = 0, [0]
    for _ in range(5):
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        while process.poll() is None and store.position() == positions[-1]:
            time.sleep(0.005)
        time.sleep(rng.random() / 20)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait()
        positions.append(store.position())
    store.close()
    # 3. A last run to the end; the stored models equal a rebuild: nothing lost or doubled.
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert f"log position {head}" in finished.stdout
    # Most runs were killed while working (a run that finished first is no harm).
    assert kills >= 3
    assert positions == sorted(positions)
    assert stored_docs(store_url) == expected


def test_a_restarted_board_starts_from_the_read_models_and_equals_a_full_replay(
    store_url: str,
) -> None:
    from rescue.projections.live import LiveView

    with open_app(store_url) as app:
        # 1. A busy day, stored read models part-way, then more calls after them.
        busy_day(app, calls=25, seed=8)
        runner = ProjectionRunner(app.store, ViewStore(store_url))
        while runner.step():
            pass
        stored_at = app.store.recorder.max_notification_id()
        busy_day_more = report(34.8, 113.6, "accident", n=999)
        incident_id = reported(app, busy_day_more)
        app.dispatch.dispatch(incident_id, OPERATOR.actor)
        runner._store.close()
        settings = app.settings
    # 2. A new application starts its board from the read models, then follows the log.
    restarted = bootstrap(settings)
    try:
        assert restarted.view.position > stored_at  # it caught up past the stored position
        # 3. Its board equals one replayed from the very first event.
        replayed = LiveView()
        for n in restarted.store.recorder.select_notifications(start=None, limit=10**6):
            replayed.apply(n.id, restarted.store.mapper.to_domain_event(n))
        for name in (
            "stations",
            "vans",
            "incidents",
            "position",
            "van_ids",
            "_fix_at",
            "_offer_due",
            "_accepted",
        ):
            assert getattr(restarted.view, name) == getattr(replayed, name), name
        assert restarted.view.incidents[incident_id]["status"] == "offered"
    finally:
        restarted.close()
