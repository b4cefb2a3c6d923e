"""The positions lane answers a crew's fix itself and hands everything else to the route.

The lane is called here as the server calls it (tests/lane_calls.py), so each
case shows whether the lane or the route answered and with which body. The
full app then shows that a request the lane counted against the caller's rate
is not counted again when the route answers its refusal.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from rescue.api.positions_lane import REFUSED, PositionsLane
from rescue.api.routers.network import positions_route
from rescue.domain.errors import Invalid
from tests.builders import ZZ_LAT, HttpWorld, bearer, position, served
from tests.lane_calls import Behind, known_to_the_book, through


@pytest.fixture
def world(store_url: str) -> Iterator[HttpWorld]:
    # A rate of one request per thousand seconds, with a burst of three: the fourth is refused.
    with served(store_url, rate_limit_per_s=0.001, rate_limit_burst=3) as w:
        for who in ("crew1", "crew2"):
            known_to_the_book(w, who)
        yield w


def through_lane(
    world: HttpWorld, path: str, headers: dict[str, str], body: bytes
) -> tuple[Behind, int, bytes]:
    """Sends one fix through a positions lane in front of `Behind`."""
    behind = Behind()
    lane = PositionsLane(behind, route=positions_route())
    status, answer = through(lane, world, "POST", path, headers, body)
    return behind, status, answer


def fix_body(**changes: Any) -> bytes:
    return json.dumps(position(**changes)).encode()


def test_a_crews_fix_is_stored_and_answered_by_the_lane(world: HttpWorld) -> None:
    behind, status, answer = through_lane(
        world, "/api/vans/V1/positions", world.headers["crew1"], fix_body(lat=ZZ_LAT + 0.25)
    )
    assert (status, behind.bodies, json.loads(answer)) == (202, [], {"accepted": 1})
    # The board follows the log: the fix reaches it once stored.
    deadline = time.monotonic() + 10
    while van_on_board(world, "V1")["lat"] != ZZ_LAT + 0.25:
        assert time.monotonic() < deadline, "the fix never reached the log"
        time.sleep(0.02)


def van_on_board(world: HttpWorld, van_id: str) -> dict[str, Any]:
    vans = world.get("/api/vans", "operator").json()
    found: dict[str, Any] = next(v for v in vans if v["van_id"] == van_id)
    return found


@pytest.mark.parametrize(
    ("case", "who", "path", "body"),
    [
        ("no token", None, "/api/vans/V1/positions", fix_body()),
        ("another van's crew", "crew2", "/api/vans/V1/positions", fix_body()),
        ("an operator", "operator", "/api/vans/V1/positions", fix_body()),
        ("not JSON", "crew1", "/api/vans/V1/positions", b"{lat: 1"),
        ("a position out of range", "crew1", "/api/vans/V1/positions", fix_body(lat=91.0)),
        ("an empty list", "crew1", "/api/vans/V1/positions", b"[]"),
        # What the route's json.loads reads and the lane's orjson refuses: the route answers.
        ("NaN", "crew1", "/api/vans/V1/positions", fix_body(lat=float("nan"))),
        ("UTF-16", "crew1", "/api/vans/V1/positions", fix_body().decode().encode("utf-16")),
        ("a number past 64 bits", "crew1", "/api/vans/V1/positions", fix_body(speed_kmh=2**70)),
    ],
)
def test_what_the_lane_cannot_take_reaches_the_route_with_its_body(
    world: HttpWorld, case: str, who: str | None, path: str, body: bytes
) -> None:
    headers = world.headers[who] if who else {}
    behind, status, _ = through_lane(world, path, headers, body)
    assert (status, behind.bodies) == (599, [body]), case


def test_an_unknown_token_and_an_overlong_key_reach_the_route(world: HttpWorld) -> None:
    unknown = bearer("not-a-token")
    behind, _, _ = through_lane(world, "/api/vans/V1/positions", unknown, fix_body())
    assert len(behind.bodies) == 1
    long_key = {**world.headers["crew1"], "Idempotency-Key": "k" * 201}
    behind, _, _ = through_lane(world, "/api/vans/V1/positions", long_key, fix_body())
    assert len(behind.bodies) == 1


def test_a_refusal_after_the_lane_counted_the_request_is_not_counted_twice(
    world: HttpWorld,
) -> None:
    key = {"Idempotency-Key": "fix-1"}
    first = world.post("/api/vans/V1/positions", "crew1", json=position(), headers=key)
    assert first.status_code == 202
    # The same key with another body: the writer refuses it (the lane has counted it by then).
    reused = world.post(
        "/api/vans/V1/positions", "crew1", json=position(seconds_ago=9), headers=key
    )
    assert reused.status_code == 422
    assert reused.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    third = world.post("/api/vans/V1/positions", "crew1", json=position())
    assert third.status_code == 202, "the refused request was counted twice"
    fourth = world.post("/api/vans/V1/positions", "crew1", json=position())
    assert fourth.status_code == 429
    assert fourth.headers["Retry-After"]


def test_the_writers_refusal_goes_to_the_route_to_answer_not_to_write_again(
    world: HttpWorld,
) -> None:
    key = {**world.headers["crew1"], "Idempotency-Key": "fix-2"}
    first, status, _ = through_lane(world, "/api/vans/V1/positions", key, fix_body())
    assert (status, first.bodies) == (202, [])
    other = fix_body(seconds_ago=9)
    behind, _, _ = through_lane(world, "/api/vans/V1/positions", key, other)
    assert behind.bodies == [other]
    assert isinstance(behind.scopes[0][REFUSED], Invalid)
    assert behind.scopes[0][REFUSED].field == "Idempotency-Key"


def test_a_fix_the_lane_answers_is_counted_and_headed_under_its_route(world: HttpWorld) -> None:
    answer = world.post(
        "/api/vans/V1/positions", "crew1", json=position(), headers={"X-Request-ID": "fix-42"}
    )
    assert answer.status_code == 202
    assert answer.headers["X-Request-ID"] == "fix-42"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    metrics = world.client.get("/metrics").text
    assert (
        'rescue_http_requests_total{method="POST",route="/api/vans/{van_id}/positions",'
        'status="202"} 1.0' in metrics
    )
