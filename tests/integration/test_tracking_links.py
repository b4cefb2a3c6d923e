"""The customer's tracking link: issued with the first offer, kept only as a hash,
opened without sign-in, never showing who called or which car, expired an hour
after the job ends, limited per client address.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest

from rescue.bootstrap import bootstrap
from rescue.domain.tracking import TrackingLink
from tests.builders import (
    FakeClock,
    HttpWorld,
    ids_with,
    position,
    report,
    served,
)

CALL = report(n=7)
# What the customer's page must never show: who called and which car.
PERSONAL = [
    CALL["caller"]["name"],
    CALL["caller"]["phone"],
    CALL["vehicle"]["vin"],
    CALL["vehicle"]["plate"],
]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def world(store_url: str, clock: FakeClock) -> Iterator[HttpWorld]:
    with served(store_url, clock, tracking_rate_burst=1000) as w:
        yield w


def offered(world: HttpWorld) -> str:
    incident_id: str = world.post("/api/incidents", "operator", json=CALL).json()["incident_id"]
    answer = world.post(f"/api/incidents/{incident_id}/dispatch", "operator", json={})
    assert answer.json()["van_id"] == "V1"
    return incident_id


def code_of(world: HttpWorld, incident_id: str) -> str:
    answer = world.get(f"/api/incidents/{incident_id}/tracking", "operator")
    assert answer.status_code == 200, answer.text
    url: str = answer.json()["url"]
    return url.rsplit("/t/", 1)[1]


def step(world: HttpWorld, incident_id: str, action: str, body: dict[str, Any]) -> None:
    answer = world.post(f"/api/incidents/{incident_id}/{action}", "crew1", json=body)
    assert answer.status_code == 200, answer.text


def assert_nothing_personal(text: str) -> None:
    for value in PERSONAL:
        assert value not in text, f"{value!r} in a public answer"


def stored_rows(world: HttpWorld) -> str:
    notes = world.app.store.recorder.select_notifications(start=None, limit=10**6)
    return "\n".join(n.state.decode("utf-8", "replace") for n in notes)


def test_the_link_is_issued_with_the_offer_and_only_its_hash_is_stored(world: HttpWorld) -> None:
    # 1. Reported but not yet offered: no link.
    incident_id = world.post("/api/incidents", "operator", json=CALL).json()["incident_id"]
    assert world.get(f"/api/incidents/{incident_id}/tracking", "operator").status_code == 404
    assert world.app.links.url_for(incident_id) is None
    # 2. Offered: the link exists, open, with a code of at least 128 bits.
    world.post(f"/api/incidents/{incident_id}/dispatch", "operator", json={})
    answer = world.get(f"/api/incidents/{incident_id}/tracking", "operator").json()
    assert answer["expires_at"] is None
    code = answer["url"].rsplit("/t/", 1)[1]
    assert len(code) * 6 >= 128
    assert world.app.links.url_for(incident_id) == answer["url"]
    # 3. The log has the code's SHA-256, never the code.
    rows = stored_rows(world)
    assert code not in rows
    assert hashlib.sha256(code.encode()).hexdigest() in rows
    # 4. One link per incident, however often it is offered again.
    world.post(
        f"/api/incidents/{incident_id}/dispatch",
        "operator",
        json={"van_id": "V2", "reason": "V1 has a flat"},
    )
    assert len(ids_with(world.app, TrackingLink.Issued)) == 1
    assert code_of(world, incident_id) == code


def test_another_process_with_the_same_key_rebuilds_and_opens_the_link(
    world: HttpWorld, store_url: str
) -> None:
    incident_id = offered(world)
    url = world.app.links.url_for(incident_id)
    other = bootstrap(world.app.settings)
    try:
        assert other.links.url_for(incident_id) == url
        assert url is not None
        assert other.links.open(url.rsplit("/t/", 1)[1]) == incident_id
    finally:
        other.close()


def test_the_status_follows_the_job_in_the_customers_words(world: HttpWorld) -> None:
    incident_id = offered(world)
    code = code_of(world, incident_id)

    def status() -> dict[str, Any]:
        answer = world.client.get(f"/t/{code}/status")
        assert answer.status_code == 200, answer.text
        assert_nothing_personal(answer.text)
        body: dict[str, Any] = answer.json()
        return body

    # 1. Offered: a van is being found; none shown yet.
    first = status()
    assert first["status"] == "finding_van"
    assert first["van"] is None and first["call_sign"] is None
    assert "hazard_lights" in first["advice"]
    # 2. Accepted: on the way, with the promised ETA.
    step(world, incident_id, "accept", {"eta_min": 20})
    accepted = status()
    assert accepted["status"] == "on_the_way"
    assert accepted["call_sign"] == world.app.view.vans["V1"]["call_sign"]
    assert accepted["eta_min"] == 20.0
    # 3. The van reports a fix: it is on the map and the ETA comes from where it is.
    fix = position(seconds_ago=1)
    stored = world.post("/api/vans/V1/positions", "crew1", json=fix)
    assert stored.status_code == 202, stored.text
    world.app.follower.catch_up()
    moving = status()
    assert moving["van"]["lat"] == fix["lat"] and moving["van"]["lon"] == fix["lon"]
    assert moving["eta_min"] is not None and moving["eta_min"] < 20.0
    # 4. On scene, then towed to the other station, then done.
    step(world, incident_id, "depart", {})
    step(world, incident_id, "arrive", {})
    assert status()["status"] == "arrived"
    assert status()["eta_min"] is None
    step(world, incident_id, "resolve", {"outcome": "towed", "tow_station_id": "S2"})
    towing = status()
    assert towing["status"] == "towing"
    assert towing["tow_to"] == world.app.view.stations["S2"]["name"]
    step(world, incident_id, "complete", {"customer_signed": True, "satisfaction": 5})
    done = status()
    assert done["status"] == "completed"
    assert done["van"] is None


def test_advice_fits_the_place_and_the_fault(world: HttpWorld) -> None:
    on_expressway = report(n=8, category="flat_tire")
    on_expressway["safety"]["on_expressway"] = True
    on_expressway["safety"]["at_night"] = True
    incident_id = world.post("/api/incidents", "operator", json=on_expressway).json()["incident_id"]
    world.post(f"/api/incidents/{incident_id}/dispatch", "operator", json={})
    advice = world.client.get(f"/t/{code_of(world, incident_id)}/status").json()["advice"]
    assert "expressway_behind_barrier" in advice
    assert "night_reflective_vest" in advice
    assert "tire_no_change_on_traffic_side" in advice
    assert "wait_off_the_road" not in advice


def test_every_public_answer_is_free_of_personal_data(world: HttpWorld) -> None:
    incident_id = offered(world)
    code = code_of(world, incident_id)
    step(world, incident_id, "accept", {"eta_min": 12})
    for path in (f"/t/{code}", f"/t/{code}/status", "/t/" + "A" * 32, "/t/x/status"):
        answer = world.client.get(path)
        assert_nothing_personal(answer.text)
        assert_nothing_personal(json.dumps(dict(answer.headers)))


def test_unknown_and_malformed_codes_are_not_found(world: HttpWorld) -> None:
    offered(world)
    for code in ("A" * 32, "short", "A" * 33, "A" * 31 + "!", "A" * 31 + "%00"):
        assert world.client.get(f"/t/{code}/status").status_code == 404
    assert world.client.get("/t/" + "B" * 32).status_code == 404


def test_the_link_expires_an_hour_after_the_job_ends(world: HttpWorld, clock: FakeClock) -> None:
    incident_id = offered(world)
    code = code_of(world, incident_id)
    for action, body in [
        ("accept", {"eta_min": 20}),
        ("depart", {}),
        ("arrive", {}),
        ("resolve", {"outcome": "repaired_on_site"}),
        ("complete", {"customer_signed": True, "satisfaction": 5}),
    ]:
        step(world, incident_id, action, body)
    link = world.get(f"/api/incidents/{incident_id}/tracking", "operator").json()
    assert link["expires_at"] is not None and not link["expired"]
    clock.advance(59 * 60)
    assert world.client.get(f"/t/{code}/status").status_code == 200
    clock.advance(2 * 60)
    assert world.client.get(f"/t/{code}/status").status_code == 410
    assert world.client.get(f"/t/{code}").status_code == 410
    assert world.app.links.url_for(incident_id) is None
    assert world.get(f"/api/incidents/{incident_id}/tracking", "operator").json()["expired"]


def test_a_cancelled_job_also_expires_its_link(world: HttpWorld, clock: FakeClock) -> None:
    incident_id = offered(world)
    code = code_of(world, incident_id)
    cancelled = world.post(
        f"/api/incidents/{incident_id}/cancel", "operator", json={"reason": "customer fixed it"}
    )
    assert cancelled.status_code == 200, cancelled.text
    assert world.client.get(f"/t/{code}/status").json()["status"] == "cancelled"
    clock.advance(61 * 60)
    assert world.client.get(f"/t/{code}/status").status_code == 410


def test_resending_records_an_event_the_outbox_can_act_on(world: HttpWorld) -> None:
    incident_id = offered(world)
    assert world.post(f"/api/incidents/{incident_id}/tracking/resend", "crew1").status_code == 403
    answer = world.post(f"/api/incidents/{incident_id}/tracking/resend", "operator")
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"incident_id": incident_id, "resends": 1}
    notes = world.app.store.recorder.select_notifications(start=None, limit=10**6)
    resent = [n for n in notes if n.topic.endswith("TrackingLink.ResendRequested")]
    assert len(resent) == 1
    event = world.app.store.mapper.to_domain_event(resent[0])
    assert event.incident_id == incident_id
    assert world.get(f"/api/incidents/{incident_id}/tracking", "operator").json()["resends"] == 1


def test_a_link_not_yet_issued_cannot_be_resent(world: HttpWorld) -> None:
    incident_id = world.post("/api/incidents", "operator", json=CALL).json()["incident_id"]
    answer = world.post(f"/api/incidents/{incident_id}/tracking/resend", "operator")
    assert answer.status_code == 404


def test_the_public_routes_are_limited_per_client_address(store_url: str) -> None:
    with served(store_url, tracking_rate_burst=3, tracking_rate_per_s=0.01) as world:
        incident_id = offered(world)
        code = code_of(world, incident_id)
        answers = [world.client.get(f"/t/{code}/status").status_code for _ in range(3)]
        assert answers == [200, 200, 200]
        limited = world.client.get(f"/t/{code}/status")
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) >= 1
        # The operator's own routes are limited per account, not by this.
        assert world.get(f"/api/incidents/{incident_id}/tracking", "operator").status_code == 200
