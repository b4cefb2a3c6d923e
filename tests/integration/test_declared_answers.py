"""Answers the API fuzz test found off their declaration, pinned one by one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.builders import HttpWorld, served


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


def test_a_position_out_of_range_in_utc_is_invalid_input(world: HttpWorld) -> None:
    # Year 1 at UTC+02:03 is year 0 in UTC: converting it crashed the route with a 500.
    fixes = [{"lat": 0.0, "lon": 0.0, "recorded_at": "0001-01-01T00:00:00+02:03"}]
    answer = world.post("/api/vans/V1/positions", "crew1", json=fixes)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", 0, "recorded_at"]
