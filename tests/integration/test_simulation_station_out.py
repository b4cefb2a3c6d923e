"""A station out of service: its vans are off duty for the run and get no job; the rest cope."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime
from pathlib import Path

from rescue.bootstrap import bootstrap
from rescue.domain.ids import van_uuid
from rescue.domain.validation import CHINA_TZ
from rescue.settings import Settings
from rescue.simulator.audit import check_log
from rescue.simulator.engine import Simulation
from rescue.simulator.network import build_network
from rescue.simulator.scenarios import CrewBehaviour, station_out
from rescue.simulator.setup import issue_tokens, load_with_progress, network_subset
from rescue.store.privacy import new_key
from tests.builders import OPERATOR, reported
from tests.builders import report as call_report
from tests.live import LiveServer
from tests.support import free_port, sqlite_url_for

HENAN = network_subset(build_network(), ["Henan"])
HENAN_LAT, HENAN_LON = 34.75, 113.62


def van_of_busiest_station() -> str:
    """A battery van of the station "auto" takes out: the one with most vans, ties by id."""
    per_station = Counter(v.station_id for v in HENAN.vans)
    chosen = min(per_station, key=lambda s: (-per_station[s], s))
    return next(
        v.van_id for v in HENAN.vans if v.station_id == chosen and "battery" in v.capabilities
    )


def test_the_out_of_service_stations_vans_get_no_job(tmp_path: Path) -> None:
    settings = Settings(db=sqlite_url_for(tmp_path / "rescue.db"), cipher_key=new_key())
    app = bootstrap(settings)
    try:
        load_with_progress(app, HENAN)
        tokens = issue_tokens(app, [v.van_id for v in HENAN.vans])
        # An earlier run left a call offered to a van of the station that goes out: it goes
        # off duty holding the offer, the leftover call is tidied away, and then it is idle.
        busy = van_of_busiest_station()
        left_over = reported(app, call_report(HENAN_LAT, HENAN_LON, "battery", n=1))
        app.dispatch.dispatch(
            left_over, OPERATOR.actor, van_id=busy, reason="left by an earlier run"
        )
        assert app.runner.van(busy).incident_id == left_over
    finally:
        app.close()
    assert settings.cipher_key is not None
    live = LiveServer(
        db=settings.db,
        key=settings.cipher_key.get_secret_value(),
        port=free_port(),
        log_path=tmp_path / "server.log",
    )
    live.start(offer_timeout_s="3", timer_interval_s="0.2")
    # 1. An ordinary morning in Henan with the busiest station (most vans) out.
    scenario = station_out(
        "auto", start=datetime(2025, 3, 3, 8, 0, tzinfo=CHINA_TZ), hours=1.0, calls_per_hour=20
    ).replace(drain_s=3600.0, crew=CrewBehaviour(fix_interval_s=60.0, fixes_per_post=5))
    try:
        report = asyncio.run(Simulation(live.url, tokens, scenario, seed=7, speed=600.0).run())
    finally:
        live.stop()
    assert report.errors == []
    out = report.out_station_id
    assert busy in [v.van_id for v in HENAN.vans if v.station_id == out]
    out_vans = [v.van_id for v in HENAN.vans if v.station_id == out]
    per_station = Counter(v.station_id for v in HENAN.vans)
    assert len(out_vans) == max(per_station.values()) >= 2  # "auto": the station with most vans

    app = bootstrap(settings)
    try:
        # 2. Between going off duty and coming back, none of its vans was offered a job.
        for van_id in out_vans:
            names = [type(e).__qualname__ for e in app.store.events.get(van_uuid(van_id))]
            off = max(i for i, e in enumerate(app.store.events.get(van_uuid(van_id)))
                      if type(e).__qualname__ == "Van.ShiftChanged" and not e.on_duty)  # fmt: skip
            back = names.index("Van.ShiftChanged", off + 1)
            assert "Van.Offered" not in names[off:back], names
            # 3. ... and it is back on duty after the run.
            assert app.runner.van(van_id).on_duty
        # 4. The other stations handled the calls, one job per van at a time.
        check = check_log(app.store, [v.van_id for v in HENAN.vans], report.incidents)
        assert check.problems == []
        assert report.statuses["completed"] >= 0.6 * len(report.incidents) > 0
    finally:
        app.close()
