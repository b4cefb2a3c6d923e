"""Every route and feed against every kind of caller: no token, a revoked token, an expired
token, each role, a crew of another van. Each route's allowed roles are listed in
`tests.access_rules`; a route missing from the list fails the test, so a new route cannot ship
without deciding who may call it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from starlette.websockets import WebSocketDisconnect

from rescue.domain.actors import Actor
from rescue.services.imagery import sample_photo
from tests.access_rules import ADM, ALLOWED, AUD, CREW, OP, OTHER, SOCKETS
from tests.builders import (
    OPERATOR,
    FakeClock,
    HttpWorld,
    open_app,
    position,
    report,
    reported,
    served,
)

CALLERS = ("none", "revoked", "expired", OP, AUD, ADM, CREW, OTHER)
NO_VALID_TOKEN = ("none", "revoked", "expired")

# Bodies and queries that pass validation where a route checks the caller in its body.
BODIES = {
    "/api/vans/{van_id}/shift": {"on_duty": True},
    "/api/vans/{van_id}/positions": position(),
    "/api/incidents/{incident_id}/accept": {"eta_min": 12},
    "/api/incidents/{incident_id}/decline": {"reason": "van broken down"},
    "/api/incidents/{incident_id}/diagnose": {"cause": "flat battery"},
    "/api/incidents/{incident_id}/resolve": {"outcome": "repaired_on_site"},
    "/api/incidents/{incident_id}/complete": {"customer_signed": True},
    "/api/incidents/{incident_id}/messages": {"text": "on my way"},
    "/api/vans/{van_id}/messages": {"text": "on my way"},
}
QUERIES = {
    "/api/places": {"q": "Zhengzhou"},
    "/api/scorecards": {"by": "station"},
    "/api/scorecards/incidents": {"by": "van", "key": "V1", "figure": "offers_made"},
    "/api/vans/{van_id}/track": {
        "from": "2026-01-01T00:00:00Z",
        "to": "2026-01-01T06:00:00Z",
    },
}
# Multipart uploads: a real photo, so the caller is what decides.
FILES = {"/api/incidents/{incident_id}/photos": {"file": ("p.jpg", sample_photo((9, 9, 9)))}}


@pytest.fixture
def world(sqlite_url: str) -> Iterator[HttpWorld]:
    with served(sqlite_url) as world:
        token = world.app.access.add_user("gone", "operator", None, Actor(role="admin", name="t"))
        world.app.access.revoke_user("gone", Actor(role="admin", name="t"))
        world.headers["revoked"] = {"Authorization": f"Bearer {token}"}
        # Issued two hours ago for an hour (by another process on the same store).
        with open_app(sqlite_url, clock=FakeClock(datetime.now(UTC) - timedelta(hours=2))) as desk:
            lapsed = desk.access.add_user(
                "lapsed",
                "operator",
                None,
                Actor(role="admin", name="t"),
                expires_in=timedelta(hours=1),
            )
        world.headers["expired"] = {"Authorization": f"Bearer {lapsed}"}
        yield world


def test_every_route_answers_each_caller_as_listed(world: HttpWorld) -> None:
    # 1. An incident offered to V1, so van-scoped checks have something to refuse.
    incident_id = reported(world.app, report())
    assert world.app.dispatch.dispatch(incident_id, OPERATOR.actor).body["van_id"] == "V1"
    spec = world.client.get("/openapi.json").json()
    routes = [(m.upper(), p) for p, ops in spec["paths"].items() for m in ops]
    # 2. The list covers every route the server has, and nothing else.
    assert set(routes) == set(ALLOWED), set(routes) ^ set(ALLOWED)
    wrong = []
    for method, template in routes:
        allowed = ALLOWED[(method, template)]
        path = template.replace("{incident_id}", incident_id).replace("{van_id}", "V1")
        path = path.replace("{message_id}", "0" * 32)  # well formed; names no message
        path = path.replace("{photo_id}", "0" * 32)
        kwargs = {"params": QUERIES.get(template)}
        if template in FILES:
            kwargs["files"] = FILES[template]
        elif method == "POST":
            kwargs["json"] = BODIES.get(template, {})
        for who in CALLERS:
            headers = world.headers.get(who, {})
            answer = world.client.request(method, path, headers=headers, **kwargs)
            status = answer.status_code
            if allowed is None:
                ok = status not in (401, 403) or template in ("/osmand", "/")
            elif who == "expired":
                ok = status == 401 and "expired" in answer.json()["detail"]
            elif who in NO_VALID_TOKEN:
                ok = status == 401
            elif who in allowed:
                ok = status not in (401, 403)
            else:
                ok = status == 403
            if not ok:
                wrong.append((method, template, who, status))
    # 3. Every answer as listed: 401 without a valid token (saying so when it expired), 403
    #    for the wrong role or van.
    assert wrong == [], "\n".join(map(str, wrong))


def test_every_feed_answers_each_caller_as_listed(world: HttpWorld) -> None:
    """A socket is always accepted, then closed with 4401 (no valid token) or 4403 (wrong
    role) before any data, so a browser sees the reason; an allowed caller gets its
    snapshot. Every kind of caller, with the token in the query and as a first message."""
    wrong = []
    for path, allowed in SOCKETS.items():
        for who in CALLERS:
            for via in ("query", "message"):
                outcome = _open_feed(world, path, who, via)
                if who in allowed:
                    ok = outcome == ("snapshot", None)
                elif who == "expired":
                    ok = outcome[0] == 4401 and "expired" in str(outcome[1])
                elif who in NO_VALID_TOKEN:
                    ok = outcome[0] == 4401
                else:
                    ok = outcome[0] == 4403
                if not ok:
                    wrong.append((path, who, via, outcome))
    assert wrong == [], "\n".join(map(str, wrong))


def _open_feed(world: HttpWorld, path: str, who: str, via: str) -> tuple[object, object]:
    """("snapshot", None) if the feed opened, or (close code, reason) if it was refused."""
    header = world.headers.get(who, {}).get("Authorization", "")
    token = header.removeprefix("Bearer ") or None
    url = f"{path}?token={token}" if via == "query" and token else path
    try:
        with world.client.websocket_connect(url) as ws:
            if via == "message" or token is None:
                ws.send_json({"token": token} if token else {"hello": "no token"})
            first = ws.receive_json()
            if path == "/ws/crew" and who in (CREW, OTHER):
                # A crew hears of its own van only.
                van = {CREW: "V1", OTHER: "V2"}[who]
                assert first["van"]["van_id"] == van, first
            return first["type"], None
    except WebSocketDisconnect as closed:
        return closed.code, closed.reason
