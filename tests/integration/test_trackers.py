"""Tracker apps against the server: every form acknowledged, refusals and SOS on the record."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from rescue.domain.ids import track_uuid
from tests.builders import HttpWorld, served


@pytest.fixture
def world(store_url: str) -> Iterator[HttpWorld]:
    with served(store_url) as world:
        yield world


def token(world: HttpWorld, who: str = "crew1") -> str:
    return world.headers[who]["Authorization"].removeprefix("Bearer ")


def now_s() -> str:
    return str(int(datetime.now(UTC).timestamp()))


def latest_fix(world: HttpWorld, van_id: str = "V1") -> Any:
    """The last event of the van's track, as stored."""
    [event] = world.app.store.events.get(track_uuid(van_id), desc=True, limit=1)
    return event


def van_events(world: HttpWorld, van_id: str = "V1") -> list[dict[str, Any]]:
    answer = world.get(f"/api/vans/{van_id}/history", "operator")
    assert answer.status_code == 200, answer.text
    events: list[dict[str, Any]] = answer.json()["events"]
    return events


def refused_count(world: HttpWorld, kind: str) -> float:
    for line in world.client.get("/metrics").text.splitlines():
        if line.startswith(f'rescue_tracker_reports_refused_total{{kind="{kind}"}}'):
            return float(line.split()[-1])
    return 0.0


def test_the_current_traccar_client_form_is_stored_with_what_it_carries(
    world: HttpWorld,
) -> None:
    # 1. Traccar Client posts a form body to the server's bare URL.
    form = {
        "id": token(world),
        "lat": "34.75",
        "lon": "113.62",
        "timestamp": now_s(),
        "accuracy": "8.0",
        "altitude": "110.5",
        "speed": "10.8",
        "bearing": "270.0",
        "batt": "64",
        "charge": "true",
    }
    answer = world.client.post("/", data=form)
    assert (answer.status_code, answer.text) == (200, "OK")
    # 2. The fix is on the van's track with its battery, charge and altitude.
    fix = latest_fix(world)
    assert (fix.lat, fix.lon, fix.speed_kmh, fix.heading, fix.accuracy_m) == (
        34.75,
        113.62,
        20.0,
        270.0,
        8.0,
    )
    assert fix.device == {"battery_pct": 64.0, "charging": True, "altitude_m": 110.5}
    # 3. The van moved on the board.
    world.app.follower.catch_up()
    assert world.app.view.vans["V1"]["lat"] == 34.75


@pytest.mark.parametrize("path", ["/osmand", "/osmand/", "/"])
def test_every_path_takes_a_query_a_form_and_an_empty_form_body(
    world: HttpWorld, path: str
) -> None:
    where = {"id": token(world), "lat": "34.7", "lon": "113.6", "timestamp": now_s()}
    # The legacy Android client: everything in the query, an empty form body.
    empty_form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert world.client.post(path, params=where, content=b"", headers=empty_form).text == "OK"
    assert world.client.post(path, data=where).text == "OK"
    # A device that sends the fields as a body without saying what it is.
    bare = urlencode(where).encode()
    assert world.client.post(path, content=bare, headers={"Content-Type": ""}).text == "OK"
    if path != "/":
        assert world.client.get(path, params=where).text == "OK"
    # Each was stored as a fix on the van's track (after its Started event).
    assert latest_fix(world).originator_version == (5 if path != "/" else 4)


def test_traccar_client_json_is_stored(world: HttpWorld) -> None:
    body = {
        "device_id": token(world),
        "location": {
            "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "coords": {
                "latitude": 34.8,
                "longitude": 113.7,
                "speed": 10,
                "heading": -1,
                "accuracy": 5,
                "altitude": 90,
            },
            "battery": {"level": 0.42, "is_charging": False},
            "event": "motionchange",
        },
    }
    answer = world.client.post("/", json=body)
    assert (answer.status_code, answer.text) == (200, "OK")
    fix = latest_fix(world)
    assert (fix.lat, fix.speed_kmh, fix.heading) == (34.8, 36.0, None)
    assert fix.device == {
        "battery_pct": 42.0,
        "charging": False,
        "altitude_m": 90.0,
        "event": "motionchange",
    }


@pytest.mark.parametrize(
    ("params", "kind"),
    [
        ({"timestamp": "1377177267"}, "too_old"),
        ({"timestamp": str(int(datetime.now(UTC).timestamp()) + 86_400)}, "future"),
        ({"lat": "", "lon": ""}, "no_position"),
        ({"speed": "250"}, "implausible"),
        ({"accuracy": "-1"}, "invalid"),
        ({"lat": "north"}, "unreadable"),
    ],
)
def test_a_report_that_is_no_fix_is_acknowledged_and_its_refusal_recorded(
    world: HttpWorld, params: dict[str, str], kind: str
) -> None:
    before = refused_count(world, kind)
    world.app.follower.catch_up()
    where = world.app.view.vans["V1"].get("lat")
    # 1. Acknowledged, so the device's queue moves on.
    fields = {"id": token(world), "lat": "34.9", "lon": "113.9", "timestamp": now_s(), **params}
    answer = world.client.get("/osmand", params=fields)
    assert (answer.status_code, answer.text) == (200, "OK")
    # 2. The van did not move.
    world.app.follower.catch_up()
    assert world.app.view.vans["V1"].get("lat") == where
    # 3. The van's history says why, with what came (never the token); /metrics counts it.
    refused = van_events(world)[-1]
    assert refused["type"] == "FixRefused"
    assert refused["data"]["kind"] == kind and refused["data"]["reason"]
    assert token(world) not in str(refused)
    assert refused["actor"] == {"role": "crew", "name": "user-crew1", "van_id": "V1"}
    assert refused_count(world, kind) == before + 1


def test_an_sos_is_recorded_and_reaches_the_console_and_the_tablet(world: HttpWorld) -> None:
    operator = token(world, "operator")
    with (
        world.client.websocket_connect(f"/ws/board?token={operator}") as board,
        world.client.websocket_connect(f"/ws/crew?token={token(world)}") as tablet,
    ):
        assert board.receive_json()["type"] == "snapshot"
        assert tablet.receive_json()["type"] == "snapshot"
        # 1. The crew presses SOS in the app: a report with alarm=sos and no fix yet.
        where = {"id": token(world), "alarm": "sos"}
        assert world.client.post("/osmand", data=where).text == "OK"
        # 2. Both feeds get the van's SosRaised change.
        for feed in (board, tablet):
            change = next(m for m in _changes(feed) if m["event"] == "SosRaised")
            assert (change["kind"], change["id"]) == ("van", "V1")
            assert change["changes"]["sos"]["alarm"] == "sos"
    # 3. On the record: an SOS, and the report without a position refused.
    assert [e["type"] for e in van_events(world)[-2:]] == ["FixRefused", "SosRaised"]


def test_an_sos_with_a_fix_is_placed_at_the_fix(world: HttpWorld) -> None:
    fields = {"id": token(world), "location": "34.61,113.41", "alarm": "sos"}
    assert world.client.get("/osmand", params=fields).text == "OK"
    sos = van_events(world)[-1]
    assert sos["type"] == "SosRaised"
    assert (sos["data"]["lat"], sos["data"]["lon"]) == (34.61, 113.41)
    assert latest_fix(world).lat == 34.61


def _changes(feed: Any) -> Iterator[dict[str, Any]]:
    while True:
        message = feed.receive_json()
        if message["type"] == "batch":
            yield from message["changes"]
        elif message["type"] == "change":
            yield message


@pytest.mark.parametrize(
    ("request_kwargs", "status"),
    [
        ({"params": {"lat": "34.7", "lon": "113.6"}}, 401),
        ({"params": {"id": "not-a-token", "lat": "34.7", "lon": "113.6"}}, 401),
        ({"json": {"device_id": "not-a-token", "location": {}}}, 401),
        ({"content": b"{", "headers": {"Content-Type": "application/json"}}, 422),
        ({"json": [1, 2]}, 422),
    ],
)
def test_a_request_not_from_a_known_van_gets_its_4xx(
    world: HttpWorld, request_kwargs: dict[str, Any], status: int
) -> None:
    assert world.client.post("/osmand", **request_kwargs).status_code == status


def test_a_token_of_another_role_is_refused(world: HttpWorld) -> None:
    fields = {"id": token(world, "operator"), "lat": "34.7", "lon": "113.6"}
    assert world.client.get("/osmand", params=fields).status_code == 403


def test_the_rest_route_keeps_its_422s(world: HttpWorld) -> None:
    old = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    fix = {"lat": 34.7, "lon": 113.6, "recorded_at": old, "heading": 720}
    answer = world.post("/api/vans/V1/positions", "crew1", json=fix)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "heading"]
