"""ETAs learned from the log: trips recorded, fitted as an event, used by the next dispatch.

The drives take a known time: the event clock (which stamps every recorded
event) and the services' clock are one hand-moved clock, and each drive from
departure to arrival takes 2 minutes per geodesic km, slower than the fixed
rule's 1.56. Zhengzhou is in Henan, so the fitted cell is Henan's for the hour
band of the drives.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import eventsourcing.domain
import pytest

from rescue.bootstrap import Rescue
from rescue.domain.eta import hour_band
from tests.builders import (
    ADMIN,
    OPERATOR,
    ZZ_LAT,
    ZZ_LON,
    FakeClock,
    crew,
    line_network,
    load,
    offered_events,
    open_app,
    report,
    reported,
)

MIN_PER_KM = 2.0
TRIPS = 12


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    # 10:30 in China: every drive below departs within the "day" band (10:00-16:00).
    fake = FakeClock(datetime.now(UTC).replace(hour=2, minute=30, second=0, microsecond=0))
    monkeypatch.setattr(eventsourcing.domain, "datetime_now_with_tzinfo", fake)
    return fake


@pytest.fixture
def app(store_url: str, clock: FakeClock) -> Iterator[Rescue]:
    # Cells need 10 trips here; the model is read again at every dispatch.
    with open_app(store_url, clock, eta_min_trips=10, eta_refresh_s=0.0) as rescue:
        stations, vans = line_network(3, step_deg=0.1)
        load(rescue, stations, vans)
        yield rescue


def drive_trips(app: Rescue, clock: FakeClock, count: int) -> None:
    """`count` calls 2 to 9 km south of Zhengzhou, each worked to completion."""
    for n in range(count):
        incident_id = reported(app, report(ZZ_LAT - 0.02 * (n % 4 + 1), ZZ_LON, n=n))
        app.dispatch.dispatch(incident_id, OPERATOR.actor)
        offer = offered_events(app, incident_id)[-1]["data"]
        van_crew = crew(offer["van_id"])
        app.steps.take(incident_id, "accept", {"eta_min": 10.0}, van_crew)
        clock.advance(60)
        app.steps.take(incident_id, "depart", {}, van_crew)
        clock.advance(offer["distance_km"] * MIN_PER_KM * 60)
        app.steps.take(incident_id, "arrive", {}, van_crew)
        app.steps.take(incident_id, "resolve", {"outcome": "repaired_on_site"}, van_crew)
        app.steps.take(incident_id, "complete", {"customer_signed": True}, van_crew)


def test_recommendations_use_the_fitted_cell_once_there_are_enough_trips(
    app: Rescue, clock: FakeClock
) -> None:
    # 1. Before any fit, recommendations carry the fixed rule and say so.
    first = app.dispatch.report_incident(report(ZZ_LAT - 0.2, ZZ_LON, n=900), OPERATOR.actor).body
    assert {r["eta_source"] for r in first["recommendations"]} == {"default"}
    assert all(r["eta_band"] is None for r in first["recommendations"])
    app.dispatch.dispatch(first["incident_id"], OPERATOR.actor)
    decision = offered_events(app, first["incident_id"])[-1]["data"]["decision"]
    assert decision["params"]["eta_model"] == {"source": "default"}
    app.steps.take(first["incident_id"], "cancel", {"reason": "test call"}, OPERATOR)

    # 2. Trips are driven at 2 min/km and fitted: one event on the model.
    drive_trips(app, clock, TRIPS)
    fitted = app.etas.fit(ADMIN)
    assert fitted["fitted"] is True
    assert fitted["trips"] == TRIPS
    band = hour_band(clock())
    keys = {f"{c['scope']}={c['name']}|{c['band']}" for c in fitted["cell_list"]}
    assert f"province=Henan|{band}" in keys

    # 3. The next call's recommendations come from Henan's cell, at its pace, with a band.
    body = app.dispatch.report_incident(report(ZZ_LAT - 0.3, ZZ_LON, n=901), OPERATOR.actor).body
    recommendations = body["recommendations"]
    assert {r["eta_source"] for r in recommendations} == {f"province=Henan|{band}"}
    for r in recommendations:
        assert r["eta_min"] == pytest.approx(r["distance_km"] * MIN_PER_KM, abs=0.2)
        low, high = r["eta_band"]
        assert low <= r["eta_min"] <= high
    assert [r["eta_min"] for r in recommendations] == sorted(r["eta_min"] for r in recommendations)

    # 4. The dispatch's history names the model it used.
    app.dispatch.dispatch(body["incident_id"], OPERATOR.actor)
    decision = offered_events(app, body["incident_id"])[-1]["data"]["decision"]
    assert decision["params"]["eta_model"]["source"] == "fitted"
    assert decision["params"]["eta_model"]["version"] == 2
    assert decision["candidates"][0]["eta_source"] == f"province=Henan|{band}"


def test_too_few_trips_leave_the_fixed_rule_in_place(app: Rescue, clock: FakeClock) -> None:
    drive_trips(app, clock, 4)
    fitted = app.etas.fit(ADMIN)
    assert fitted["trips"] == 4 and fitted["cell_list"] == []
    body = app.dispatch.report_incident(report(ZZ_LAT - 0.3, ZZ_LON, n=902), OPERATOR.actor).body
    assert {r["eta_source"] for r in body["recommendations"]} == {"default"}


def test_a_refit_on_schedule_waits_until_the_last_fit_is_old(app: Rescue, clock: FakeClock) -> None:
    drive_trips(app, clock, 2)
    assert app.etas.fit(ADMIN, due_only=True)["fitted"] is True
    clock.advance(3600)
    assert app.etas.fit(ADMIN, due_only=True)["fitted"] is False
    clock.advance(24 * 3600)
    assert app.etas.fit(ADMIN, due_only=True)["fitted"] is True
