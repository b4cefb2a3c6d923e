"""Answers the API fuzz test found off their declaration, pinned one by one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from tests.builders import HttpWorld, served

TOMORROW = str(int(datetime.now(UTC).timestamp()) + 86_400)


@pytest.fixture
def world(sqlite_url: str) -> Iterator[HttpWorld]:
    with served(sqlite_url) as world:
        yield world


def test_a_body_that_is_not_utf8_is_invalid_input_naming_the_body(world: HttpWorld) -> None:
    # FastAPI answers 400 "There was an error parsing the body", which no route declares.
    answer = world.post(
        "/api/stations",
        "admin",
        content=b'{"name": "\xff"}',
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body"]


def osmand(world: HttpWorld, **params: str) -> httpx.Response:
    token = world.headers["crew1"]["Authorization"].removeprefix("Bearer ")
    now = str(int(datetime.now(UTC).timestamp()))
    return world.client.get(
        "/osmand", params={"id": token, "lat": "34.8", "lon": "113.6", "timestamp": now, **params}
    )


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"bearing": "720"}, "bearing"),
        ({"bearing": "-1"}, "bearing"),
        ({"accuracy": "-5"}, "accuracy"),
        ({"speed": "1e6"}, "speed"),
        ({"lat": "91"}, "lat"),
        ({"timestamp": TOMORROW}, "timestamp"),
    ],
)
def test_a_tracker_report_gets_the_rest_routes_checks(
    world: HttpWorld, params: dict[str, str], named: str
) -> None:
    # A heading of 720 or a negative accuracy used to be stored as sent.
    before = world.app.view.vans["V1"].get("heading")
    answer = osmand(world, **params)
    assert answer.status_code == 422, answer.text
    assert [e["loc"] for e in answer.json()["detail"]] == [["query", named]]
    world.app.follower.catch_up()
    assert world.app.view.vans["V1"].get("heading") == before


def test_a_good_tracker_report_is_stored(world: HttpWorld) -> None:
    answer = osmand(world, bearing="90", accuracy="5", speed="10")
    assert answer.status_code == 200
    world.app.follower.catch_up()
    van = world.app.view.vans["V1"]
    assert (van["lat"], van["heading"], van["speed_kmh"]) == (34.8, 90.0, 18.52)


def test_a_position_out_of_range_in_utc_is_invalid_input(world: HttpWorld) -> None:
    # Year 1 at UTC+02:03 is year 0 in UTC: converting it crashed the route with a 500.
    fixes = [{"lat": 0.0, "lon": 0.0, "recorded_at": "0001-01-01T00:00:00+02:03"}]
    answer = world.post("/api/vans/V1/positions", "crew1", json=fixes)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", 0, "recorded_at"]
