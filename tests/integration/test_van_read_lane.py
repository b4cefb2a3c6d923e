"""The van-read lane answers a signed-in caller's read of a van and hands the rest to the route.

The lane is called as the server calls it (tests/lane_calls.py), so each case
shows whether the lane or the route answered; the full app then shows that
what the lane hands over is answered as before: 401 for a revoked token,
404 for a van the store does not hold, 503 when the store cannot answer, and
a request the lane counted against the caller's rate counted once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from eventsourcing.persistence import OperationalError

from rescue.api.lanes import ADMITTED
from rescue.api.routers.network import van_read_route
from rescue.api.van_read_lane import VanReadLane
from tests.builders import ADMIN, HttpWorld, bearer, served
from tests.lane_calls import Behind, known_to_the_book, through


@pytest.fixture
def world(store_url: str) -> Iterator[HttpWorld]:
    # A rate of one request per thousand seconds, with a burst of three: the fourth is refused.
    with served(store_url, rate_limit_per_s=0.001, rate_limit_burst=3) as w:
        for who in ("crew1", "crew2", "operator"):
            known_to_the_book(w, who)
        yield w


def read_through_lane(
    world: HttpWorld, path: str, headers: dict[str, str]
) -> tuple[Behind, int, bytes]:
    behind = Behind()
    lane = VanReadLane(behind, route=van_read_route())
    status, answer = through(lane, world, "GET", path, headers)
    return behind, status, answer


@pytest.mark.parametrize("who", ["crew1", "crew2", "operator"])
def test_a_known_callers_read_is_answered_by_the_lane_with_the_van_as_stored(
    store_url: str, who: str
) -> None:
    with served(store_url) as world:  # the default rate: no read here is refused
        known_to_the_book(world, who)
        behind, status, answer = read_through_lane(world, "/api/vans/V1", world.headers[who])
        assert (status, behind.scopes) == (200, [])
        stored = json.loads(json.dumps(world.app.runner.van("V1").as_public()))
        assert json.loads(answer) == stored
        assert stored["van_id"] == "V1"
        served_answer = world.get("/api/vans/V1", who)
        assert served_answer.headers["content-type"] == "application/json"
        assert served_answer.json() == stored


@pytest.mark.parametrize(
    ("case", "headers"),
    [
        ("no token", {}),
        ("an unknown token", bearer("not-a-token")),
        ("another scheme", {"Authorization": "Basic dXNlcjpwYXNz"}),
    ],
)
def test_a_caller_the_book_does_not_know_reaches_the_route(
    world: HttpWorld, case: str, headers: dict[str, str]
) -> None:
    behind, status, _ = read_through_lane(world, "/api/vans/V1", headers)
    assert (status, len(behind.scopes)) == (599, 1), case
    assert ADMITTED not in behind.scopes[0], case


def test_other_paths_and_methods_reach_the_route(world: HttpWorld) -> None:
    for path in ("/api/vans", "/api/vans/V1/history", "/api/vans/V1/positions"):
        behind, status, _ = read_through_lane(world, path, world.headers["operator"])
        assert (status, len(behind.scopes)) == (599, 1), path
    behind = Behind()
    lane = VanReadLane(behind, route=van_read_route())
    status, _ = through(lane, world, "DELETE", "/api/vans/V1", world.headers["operator"])
    assert (status, len(behind.scopes)) == (599, 1)


def test_a_van_the_store_does_not_hold_goes_to_the_route_counted_once(world: HttpWorld) -> None:
    behind, status, _ = read_through_lane(world, "/api/vans/NOPE", world.headers["crew1"])
    assert status == 599
    assert behind.scopes[0][ADMITTED].name == "user-crew1"
    # Through the app: the 404 is the route's, and the request is counted once.
    missing = world.get("/api/vans/NOPE", "crew2")
    assert missing.status_code == 404
    assert "NOPE" in missing.json()["detail"]
    assert world.get("/api/vans/V2", "crew2").status_code == 200
    assert world.get("/api/vans/V2", "crew2").status_code == 200, "the 404 was counted twice"
    over = world.get("/api/vans/V2", "crew2")
    assert over.status_code == 429
    assert over.headers["Retry-After"]


def test_a_store_that_cannot_answer_gets_the_routes_503(
    world: HttpWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable(van_id: str) -> None:
        raise OperationalError("database is locked")

    monkeypatch.setattr(world.app.network, "van_as_stored", unavailable)
    behind, status, _ = read_through_lane(world, "/api/vans/V1", world.headers["crew1"])
    assert (status, len(behind.scopes)) == (599, 1)
    answer = world.get("/api/vans/V1", "operator")
    assert answer.status_code == 503
    assert "database is locked" in answer.text


def test_a_revoked_token_gets_the_routes_401(world: HttpWorld) -> None:
    assert world.get("/api/vans/V1", "crew2").status_code == 200
    world.app.access.revoke_user("user-crew2", ADMIN)
    deadline = time.monotonic() + 10
    while (answer := world.get("/api/vans/V1", "crew2")).status_code == 200:
        assert time.monotonic() < deadline, "the revocation never reached the token book"
        time.sleep(0.02)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == "Bearer"


def test_a_read_the_lane_answers_is_logged_counted_and_headed_under_its_route(
    world: HttpWorld,
) -> None:
    answer = world.get("/api/vans/V1", "crew1", headers={"X-Request-ID": "read-42"})
    assert answer.status_code == 200
    assert answer.headers["X-Request-ID"] == "read-42"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    metrics = world.client.get("/metrics").text
    assert (
        'rescue_http_requests_total{method="GET",route="/api/vans/{van_id}",status="200"} 1.0'
        in metrics
    )
