"""The vans' own maintenance: distance from the GPS track, service records, the due list, and a van
past its service flagged in recommendations."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rescue.bootstrap import Rescue
from rescue.domain.actors import Actor
from rescue.domain.dispatch import geodesic_km
from rescue.domain.ids import track_uuid
from rescue.domain.tracks import VanTrack
from tests.builders import OPERATOR, ZZ_LAT, ZZ_LON, line_network, load, open_app, report, served

WORKSHOP = Actor(role="admin", name="workshop")
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _drive(app: Rescue, van_id: str, points: list[tuple[float, float]], minutes: float) -> None:
    """Fixes `minutes` apart along `points`, stored as the position writer stores them."""
    track: VanTrack = app.store.repository.get(track_uuid(van_id))
    for i, (lat, lon) in enumerate(points):
        track.report(lat, lon, START + timedelta(minutes=minutes * i))
    app.store.save(track)


def test_distance_comes_from_the_track_and_a_van_past_due_is_flagged(store_url: str) -> None:
    with open_app(store_url, service_interval_km=20.0) as app:
        load(app, *line_network(2))
        # 1. V1 drives 0.1 degree north and back, five minutes a leg; a fix with a jump no
        #    van could make and a fix recorded earlier than the last are not distance.
        north = (ZZ_LAT + 0.1, ZZ_LON)
        _drive(app, "V1", [(ZZ_LAT, ZZ_LON), (ZZ_LAT + 0.05, ZZ_LON), north], 5)
        track: VanTrack = app.store.repository.get(track_uuid("V1"))
        track.report(ZZ_LAT + 5.0, ZZ_LON, START + timedelta(minutes=11))  # 550 km in a minute
        track.report(ZZ_LAT, ZZ_LON, START + timedelta(minutes=1))  # older than the last fix
        track.report(ZZ_LAT, ZZ_LON, START + timedelta(minutes=20))  # back home
        app.store.save(track)
        leg = geodesic_km(ZZ_LAT, ZZ_LON, *north)
        app.upkeep.catch_up()
        assert abs(app.upkeep.km_driven("V1") - 2 * leg) < 0.01
        assert app.upkeep.km_driven("V2") == 0.0
        # 2. 22 km against a 20 km interval: past due, on the due list and in recommendations.
        status = app.upkeep.status("V1")
        assert status["past_due"] and status["km_since_service"] == round(2 * leg, 1)
        assert [r["van_id"] for r in app.upkeep.due_list(5.0)] == ["V1"]
        ranked = app.dispatch.report_incident(report(), OPERATOR.actor).body["recommendations"]
        assert [(r["van_id"], r["maintenance_due"]) for r in ranked] == [
            ("V1", True),
            ("V2", False),
        ]
        # 3. Serviced: the interval starts again from the distance driven so far.
        app.upkeep.record_service("V1", "oil and filters", 15_000.0, WORKSHOP)
        after = app.upkeep.status("V1")
        assert not after["past_due"]
        assert after["km_since_service"] == 0.0 and after["interval_km"] == 15_000.0
        assert app.upkeep.due_list(5.0) == []


def test_maintenance_over_http(store_url: str) -> None:
    with served(store_url, service_interval_km=5.0) as world:
        _drive(world.app, "V2", [(ZZ_LAT, ZZ_LON), (ZZ_LAT + 0.06, ZZ_LON)], 6)
        world.app.upkeep.catch_up()
        due = world.get("/api/maintenance/vans", "operator")
        assert due.status_code == 200, due.text
        assert [(r["van_id"], r["past_due"]) for r in due.json()] == [("V2", True), ("V1", False)]
        assert world.get("/api/vans/V2/maintenance", "auditor").json()["past_due"] is True
        assert world.get("/api/vans/V9/maintenance", "auditor").status_code == 404
        done = world.post("/api/vans/V2/maintenance", "admin", json={"note": "brakes"})
        assert done.status_code == 200, done.text
        assert done.json()["past_due"] is False
        assert world.post("/api/vans/V2/maintenance", "admin", json={}).status_code == 422
        assert world.post(
            "/api/vans/V2/maintenance", "operator", json={"note": "x"}
        ).status_code == (403)


def test_a_dispatch_does_not_wait_for_the_odometers_to_catch_up(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_app(store_url, service_interval_km=5.0) as app:
        load(app, *line_network(2))
        _drive(app, "V1", [(ZZ_LAT, ZZ_LON), (ZZ_LAT + 0.06, ZZ_LON)], 6)  # 6.7 km: past due
        # The catch-up is held at a gate, as one reading a long backlog is held by its work.
        gate = threading.Event()
        reading = app.upkeep._apply_page

        def held(page: Any) -> None:
            assert gate.wait(60), "the gate was never opened"
            reading(page)

        monkeypatch.setattr(app.upkeep, "_apply_page", held)
        answered: list[list[dict[str, Any]]] = []

        def call() -> None:
            body = app.dispatch.report_incident(report(), OPERATOR.actor).body
            answered.append(body["recommendations"])

        caller = threading.Thread(target=call)
        caller.start()
        caller.join(timeout=30)
        try:
            assert not caller.is_alive(), "the call waited for the odometers' catch-up"
            # Answered from the odometers as they stood: nothing read yet.
            assert {r["van_id"]: r["maintenance_due"] for r in answered[0]} == {
                "V1": False,
                "V2": False,
            }
        finally:
            gate.set()
        # A van's status waits for the catch-up under way; the next call sees its result.
        assert app.upkeep.status("V1")["past_due"]
        ranked = app.dispatch.report_incident(report(), OPERATOR.actor).body["recommendations"]
        assert {r["van_id"]: r["maintenance_due"] for r in ranked} == {"V1": True, "V2": False}
