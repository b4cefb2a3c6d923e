"""The customer's record at intake: earlier incidents by phone (sealed in the log) or VIN,
with complaint and follow-up score, and the vehicle's warranty standing; the phone
travels only in a request body and never reaches a log line.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.builders import OPERATOR, FakeClock, HttpWorld, report, served, work_to_completion

PHONE = "13800138000"  # report()'s caller
OTHER_PHONE = "13912345678"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def world(store_url: str, clock: FakeClock) -> Iterator[HttpWorld]:
    with served(store_url, clock) as w:
        yield w


def call(world: HttpWorld, n: int, phone: str = PHONE, **vehicle: Any) -> str:
    body = report(n=n)
    body["caller"]["phone"] = phone
    body["vehicle"].update(vehicle)
    answer = world.post("/api/incidents", "operator", json=body)
    assert answer.status_code == 201, answer.text
    incident_id: str = answer.json()["incident_id"]
    return incident_id


def lookup(world: HttpWorld, **body: Any) -> dict[str, Any]:
    answer = world.post("/api/customers/lookup", "operator", json=body)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def ids(found: dict[str, Any]) -> list[str]:
    return [i["incident_id"] for i in found["incidents"]]


def test_earlier_incidents_by_phone_in_any_form_and_by_vin(
    world: HttpWorld, clock: FakeClock
) -> None:
    first = call(world, 1)
    clock.advance(60)
    second = call(world, 2)  # same caller, another car
    clock.advance(60)
    third = call(world, 1, phone=OTHER_PHONE)  # the first car, another driver
    # 1. By phone: that caller's incidents, newest first, in whatever form it is typed.
    assert set(ids(lookup(world, phone=PHONE))) == {first, second}
    assert set(ids(lookup(world, phone="+86 138-0013-8000"))) == {first, second}
    # 2. By VIN: the car's incidents, whoever called.
    vin_of_first = report(n=1)["vehicle"]["vin"]
    by_vin = lookup(world, vin=vin_of_first.lower())
    assert set(ids(by_vin)) == {first, third}
    assert by_vin["incidents"][0]["category"] == "battery"
    # 3. A phone never seen: nothing, and a new report shows up at the next look-up.
    assert lookup(world, phone="13700000000")["incidents"] == []
    fourth = call(world, 3, phone="13700000000")
    assert ids(lookup(world, phone="13700000000")) == [fourth]


def test_outcome_complaint_and_followup_score_are_shown(world: HttpWorld) -> None:
    incident_id = call(world, 4)
    world.app.dispatch.dispatch(incident_id, OPERATOR.actor)
    van_id = world.app.runner.incident(incident_id).van_id
    assert van_id is not None
    work_to_completion(world.app, incident_id, van_id)
    answer = world.post(
        f"/api/incidents/{incident_id}/followup/calls",
        "operator",
        json={"reached": True, "satisfaction": 2, "comments": "took too long"},
    )
    assert answer.status_code == 200, answer.text
    [record] = lookup(world, phone=PHONE)["incidents"]
    assert record["outcome"] == "repaired_on_site"
    assert record["followup_score"] == 2
    assert record["complaint_open"] is True


def test_warranty_standing_by_the_policy_table(world: HttpWorld, clock: FakeClock) -> None:
    sold = (clock.now - timedelta(days=200)).date()
    call(world, 5, model_series="D22", sold_on=sold.isoformat(), odometer_km=20_000)
    found = lookup(world, phone=PHONE)
    warranty = found["warranty"]
    assert warranty["series"] == "D22"
    scopes = {s["scope"]: s for s in warranty["scopes"]}
    # D22: engine 24 months or 50,000 km; the rest 18 months or 30,000 km.
    assert scopes["engine"]["km_left"] == 30_000 and scopes["engine"]["covered"]
    assert scopes["other"]["km_left"] == 10_000 and scopes["other"]["covered"]
    assert 11 <= scopes["other"]["months_left"] <= 12
    # The reading the caller gives today counts instead of the last one reported.
    later = lookup(world, phone=PHONE, odometer_km=31_000)["warranty"]["scopes"]
    other = next(s for s in later if s["scope"] == "other")
    assert other["km_left"] == 0 and not other["covered"]


def test_a_car_past_its_months_is_out_of_warranty(world: HttpWorld) -> None:
    call(world, 6, model_series="PALADIN", sold_on="2020-01-15", odometer_km=10_000)
    [scope] = lookup(world, vin=report(n=6)["vehicle"]["vin"])["warranty"]["scopes"]
    assert scope == {
        "scope": "whole_vehicle",
        "until": "2022-01-14",
        "months_left": 0,
        "km_left": 50_000,
        "covered": False,
    }


def test_the_phone_reaches_no_log_line_and_no_error_repeats_it(
    world: HttpWorld, caplog: pytest.LogCaptureFixture
) -> None:
    call(world, 7)
    caplog.set_level(logging.DEBUG)
    lookup(world, phone=PHONE)
    bad = world.post("/api/customers/lookup", "operator", json={"phone": "12345abc999"})
    assert bad.status_code == 422
    assert "12345abc999" not in bad.text
    assert world.post("/api/customers/lookup", "operator", json={}).status_code == 422
    assert world.post("/api/customers/lookup", "crew1", json={"phone": PHONE}).status_code == 403
    logged = "\n".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    assert logged, "the request log wrote nothing to look at"
    assert PHONE not in logged and "12345abc999" not in logged
