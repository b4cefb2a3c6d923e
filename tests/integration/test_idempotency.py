"""A POST retried with the same Idempotency-Key gets the first answer and records nothing new.

Tablets on a flaky network resend what they are not sure arrived; the
operator's browser may double-submit. Each case below is a first try, then
retries, counted against the event log itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from rescue.domain.incidents import Incident
from tests.builders import (
    HttpWorld,
    ids_with,
    locs,
    notification_count,
    position,
    report,
    served,
)


@pytest.fixture
def world(store_url: str) -> Iterator[HttpWorld]:
    with served(store_url) as w:
        yield w


def offered_incident(world: HttpWorld) -> str:
    """A call reported and offered to V1, without idempotency keys."""
    incident_id: str = world.post("/api/incidents", "operator", json=report()).json()["incident_id"]
    dispatched = world.post(f"/api/incidents/{incident_id}/dispatch", "operator", json={})
    assert dispatched.json()["van_id"] == "V1"
    return incident_id


@dataclass(frozen=True)
class Request:
    path: str
    who: str
    body: Any
    other_body: Any  # a different request to send under the same key
    status: int


def report_request(world: HttpWorld) -> Request:
    return Request("/api/incidents", "operator", report(n=1), report(n=2), 201)


def dispatch_request(world: HttpWorld) -> Request:
    incident_id = world.post("/api/incidents", "operator", json=report()).json()["incident_id"]
    return Request(
        f"/api/incidents/{incident_id}/dispatch",
        "operator",
        {},
        {"van_id": "V2", "reason": "nearer by road"},
        200,
    )


def accept_request(world: HttpWorld) -> Request:
    incident_id = offered_incident(world)
    return Request(
        f"/api/incidents/{incident_id}/accept", "crew1", {"eta_min": 12}, {"eta_min": 30}, 200
    )


def positions_request(world: HttpWorld) -> Request:
    fixes = [position(30), position(20, lat=34.76)]
    return Request("/api/vans/V1/positions", "crew1", fixes, fixes[:1], 202)


REQUESTS: dict[str, Callable[[HttpWorld], Request]] = {
    "report": report_request,
    "dispatch": dispatch_request,
    "accept": accept_request,
    "positions": positions_request,
}


@pytest.mark.parametrize("kind", list(REQUESTS))
def test_a_retry_gets_the_first_answer_and_records_nothing(world: HttpWorld, kind: str) -> None:
    request = REQUESTS[kind](world)
    key = {"Idempotency-Key": f"retry-{kind}-1"}
    # 1. The first try is recorded.
    before = notification_count(world.app)
    first = world.post(request.path, request.who, json=request.body, headers=key)
    assert first.status_code == request.status, first.json()
    recorded = notification_count(world.app)
    assert recorded > before
    # 2. Two retries answer the same status and body, and add nothing to the log.
    for _ in range(2):
        again = world.post(request.path, request.who, json=request.body, headers=key)
        assert again.status_code == first.status_code
        assert again.json() == first.json()
    assert notification_count(world.app) == recorded


@pytest.mark.parametrize("kind", list(REQUESTS))
def test_the_same_key_for_another_request_is_refused(world: HttpWorld, kind: str) -> None:
    request = REQUESTS[kind](world)
    key = {"Idempotency-Key": f"reused-{kind}"}
    # 1. A first request under the key.
    first = world.post(request.path, request.who, json=request.body, headers=key)
    assert first.status_code == request.status
    recorded = notification_count(world.app)
    # 2. The same key with a different body: 422 naming the header, nothing recorded.
    reused = world.post(request.path, request.who, json=request.other_body, headers=key)
    assert reused.status_code == 422, reused.json()
    assert any("Idempotency-Key" in loc for loc in locs(reused)), reused.json()
    assert notification_count(world.app) == recorded


def test_the_same_key_on_another_incident_is_refused(world: HttpWorld) -> None:
    # 1. Two calls; the first is dispatched under a key.
    first = world.post("/api/incidents", "operator", json=report(n=1)).json()["incident_id"]
    second = world.post("/api/incidents", "operator", json=report(n=2)).json()["incident_id"]
    key = {"Idempotency-Key": "dispatch-once"}
    assert world.post(
        f"/api/incidents/{first}/dispatch", "operator", json={}, headers=key
    ).is_success
    recorded = notification_count(world.app)
    # 2. The same key and body on another incident's path is another request: refused.
    reused = world.post(f"/api/incidents/{second}/dispatch", "operator", json={}, headers=key)
    assert reused.status_code == 422
    assert any("Idempotency-Key" in loc for loc in locs(reused))
    assert notification_count(world.app) == recorded


def test_keys_are_per_caller(world: HttpWorld) -> None:
    # 1. V1's and V2's crews both send positions under the same key string.
    key = {"Idempotency-Key": "tablet-batch-1"}
    for who, van_id in (("crew1", "V1"), ("crew2", "V2")):
        answer = world.post(f"/api/vans/{van_id}/positions", who, json=[position()], headers=key)
        # 2. Neither is taken for a retry of the other.
        assert answer.status_code == 202
        assert answer.json() == {"accepted": 1}


def test_two_concurrent_first_tries_record_one_incident(world: HttpWorld) -> None:
    body = report(n=7)
    key = {"Idempotency-Key": "double-click-1"}
    reported_before = len(ids_with(world.app, Incident.Reported))
    barrier = threading.Barrier(2)
    answers: list[Any] = [None, None]

    # 1. The operator's browser sends the same report twice at the same moment.
    def send(i: int) -> None:
        barrier.wait()
        answers[i] = world.post("/api/incidents", "operator", json=body, headers=key)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # 2. Both get the same answer ...
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json() == answers[1].json()
    # 3. ... and the log holds one new incident, the one both were told about.
    reported = ids_with(world.app, Incident.Reported)
    assert len(reported) == reported_before + 1
    assert str(reported[-1]) == answers[0].json()["incident_id"]
