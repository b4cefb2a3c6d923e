"""A seeded, time-compressed snowstorm day in Henan against a real server.

The simulator plays the operator and every van's crew through the HTTP API
and the crew WebSocket feed with real tokens. Afterwards the store is read
back: every simulated call ended completed or cancelled, and no van was ever
on two jobs, judged from the vans' and the incidents' own event histories.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest

from rescue.bootstrap import bootstrap
from rescue.domain.ids import track_uuid, van_uuid
from rescue.domain.validation import CHINA_TZ
from rescue.services.whatif import queueing_figures
from rescue.services.whatif_record import read_period
from rescue.settings import Settings
from rescue.simulator.audit import check_log
from rescue.simulator.engine import SimReport, Simulation
from rescue.simulator.network import build_network
from rescue.simulator.scenarios import CrewBehaviour, snowstorm
from rescue.simulator.setup import issue_tokens, load_with_progress, network_subset
from rescue.store.privacy import new_key
from tests.live import LiveServer
from tests.support import free_port, sqlite_url_for

HENAN = network_subset(build_network(), ["Henan"])
SPEED = 600.0  # a simulated hour in six wall seconds
# Fixes every simulated minute, five to a POST: about one POST a second per moving van.
CREW = CrewBehaviour(p_accept=0.85, p_decline=0.10, fix_interval_s=60.0, fixes_per_post=5)


@pytest.fixture(scope="module")
def snowstorm_day(tmp_path_factory: pytest.TempPathFactory) -> tuple[SimReport, Settings]:
    folder: Path = tmp_path_factory.mktemp("snowstorm")
    settings = Settings(db=sqlite_url_for(folder / "rescue.db"), cipher_key=new_key())
    # 1. The Henan stations and vans, and a token per van and for the operator.
    app = bootstrap(settings)
    try:
        load_with_progress(app, HENAN)
        tokens = issue_tokens(app, [v.van_id for v in HENAN.vans])
    finally:
        app.close()
    # 2. A real server; an unanswered offer moves on after 3 s (30 simulated minutes).
    assert settings.cipher_key is not None
    live = LiveServer(
        db=settings.db,
        key=settings.cipher_key.get_secret_value(),
        port=free_port(),
        log_path=folder / "server.log",
    )
    live.start(offer_timeout_s="3", timer_interval_s="0.2")
    # 3. Snow over Henan from 07:00 for 90 simulated minutes, jobs drain for up to 90 more.
    scenario = snowstorm(
        "Henan", start=datetime(2025, 1, 15, 7, 0, tzinfo=CHINA_TZ), hours=1.5, calls_per_hour=1.5
    ).replace(drain_s=1.5 * 3600, crew=CREW)
    simulation = Simulation(live.url, tokens, scenario, seed=2025, speed=SPEED, concurrency=12)
    try:
        report = asyncio.run(simulation.run())
    finally:
        live.stop()
    return report, settings


def test_every_call_ends_completed_or_cancelled(
    snowstorm_day: tuple[SimReport, Settings],
) -> None:
    report, _ = snowstorm_day
    # 1. The simulator met no unexpected answer (no 422, no 5xx, no failed task).
    assert report.errors == []
    # 2. A storm's worth of calls, most of them completed by the crews.
    statuses = report.statuses
    assert report.counts["calls"] >= 20
    assert len(report.incidents) == report.counts["calls"]
    assert set(statuses) <= {"completed", "cancelled"}, statuses
    assert statuses["completed"] >= 0.6 * len(report.incidents)
    # 3. The crews really worked: offers answered, tows towed.
    assert report.counts["accepted"] >= statuses["completed"]
    assert report.counts["towed"] > 0 and report.counts["repaired_on_site"] > 0
    # 4. One fix per `fix_interval_s` driven, whatever the machine's speed, all of them sent.
    assert report.counts["driven_s"] > 0
    assert report.counts["positions"] * CREW.fix_interval_s >= report.counts["driven_s"]
    assert report.counts["position_posts"] >= statuses["completed"]


def test_no_van_was_ever_on_two_jobs(snowstorm_day: tuple[SimReport, Settings]) -> None:
    report, settings = snowstorm_day
    app = bootstrap(settings)
    try:
        # 1. Both sides of every assignment, read back from the store.
        check = check_log(app.store, [v.van_id for v in HENAN.vans], report.incidents)
        assert check.problems == []
        assert check.statuses == report.incidents
        assert check.incident_holdings >= len(report.incidents) - report.statuses["cancelled"]

        # 2. Independently of the checker: every van is free now and, in its own
        #    history, each Offered is followed by the Released of that incident
        #    before the next Offered.
        for van in HENAN.vans:
            assert app.store.repository.get(van_uuid(van.van_id)).incident_id is None
            held: str | None = None
            for event in app.store.events.get(van_uuid(van.van_id)):
                name = type(event).__qualname__
                if name == "Van.Offered":
                    assert held is None, f"{van.van_id} offered {event.incident_id} holding {held}"
                    held = event.incident_id
                elif name == "Van.Released":
                    assert held == event.incident_id
                    held = None

        # 3. Completed incidents went through every step, in order, with one van.
        steps = ["Accepted", "Departed", "Arrived", "Diagnosed", "Resolved", "Completed"]
        for incident_id, status in report.incidents.items():
            names = [
                type(e).__qualname__.split(".")[-1] for e in app.store.events.get(UUID(incident_id))
            ]
            if status == "completed":
                tail = names[names.index("Accepted") :]
                assert [n for n in tail if n in steps] == steps, names
                assert names.count("Accepted") == 1
            else:
                assert names[-1] == "Cancelled", names

        # 4. The vans that worked left GPS tracks in the store.
        tracked = sum(len(list(app.store.events.get(track_uuid(v.van_id)))) > 1 for v in HENAN.vans)
        assert tracked >= 5
    finally:
        app.close()


def test_the_storm_was_in_henan_and_work_was_spread_over_the_fleet(
    snowstorm_day: tuple[SimReport, Settings],
) -> None:
    report, settings = snowstorm_day
    app = bootstrap(settings)
    try:
        vans = Counter(
            app.store.repository.get(UUID(i)).van_id
            for i, s in report.incidents.items()
            if s == "completed"
        )
    finally:
        app.close()
    assert len(vans) >= 5  # not one van doing everything
    assert report.counts["declined"] + report.counts["left_unanswered"] > 0


def test_the_run_reports_its_lag_and_the_networks_queueing(
    snowstorm_day: tuple[SimReport, Settings],
) -> None:
    report, settings = snowstorm_day
    # 1. The simulator measured how far behind the simulated clock its people acted.
    assert report.lag_s is not None and report.lag_s >= 0
    assert "lag behind the simulated clock" in report.summary()
    # 2. The record of the run gives the network's queueing figures, in simulated minutes.
    app = bootstrap(settings, follow=False)
    try:
        period = read_period(
            app.store, datetime(2000, 1, 1, tzinfo=UTC), datetime.now(UTC), with_fixes=False
        )
    finally:
        app.close()
    figures = queueing_figures(period, time_scale=SPEED)
    assert figures["calls"] == len(report.incidents)
    # A call may be cancelled after its van arrived: reached, not completed.
    assert figures["reached"] >= report.statuses["completed"]
    assert figures["time_to_dispatch_median_min"] is not None
    assert figures["answer_to_arrival_median_min"] is not None
    assert figures["open_at_end"] == 0
