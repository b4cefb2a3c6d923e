"""Every route against every kind of caller: no token, a revoked token, each role, a crew of
another van. Each route's allowed roles are listed here; a route missing from the list fails
the test, so a new route cannot ship without deciding who may call it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rescue.actors import Actor
from tests.builders import OPERATOR, HttpWorld, position, report, reported, served

OP, AUD, ADM, CREW, OTHER = "operator", "auditor", "admin", "crew1", "crew2"
ANYONE = {OP, AUD, ADM, CREW, OTHER}
DESK = {OP, AUD}
# Crew steps are for the crew of the incident's van: another van's crew gets 409 (the
# incident is not with that van), the desk roles 403.
STEPS = ("accept", "decline", "depart", "arrive", "diagnose", "resolve", "complete")
STEP_ROUTES = {f"/api/incidents/{{incident_id}}/{step}" for step in STEPS}

ALLOWED: dict[tuple[str, str], set[str] | None] = {
    ("GET", "/healthz"): None,  # open
    ("GET", "/api/pages/config"): None,  # open: what a sign-in page needs
    ("POST", "/api/stations"): {ADM},
    ("GET", "/api/stations"): ANYONE,
    ("POST", "/api/vans"): {ADM},
    ("GET", "/api/vans"): ANYONE,
    ("GET", "/api/vans/{van_id}"): ANYONE,
    ("POST", "/api/vans/{van_id}/shift"): {OP, ADM, CREW},
    ("POST", "/api/vans/{van_id}/positions"): {CREW},
    ("GET", "/api/pages/whoami"): ANYONE,
    ("GET", "/api/places"): ANYONE,
    ("GET", "/api/incidents/search"): DESK,
    ("POST", "/api/incidents"): {OP},
    ("GET", "/api/incidents"): DESK,
    ("GET", "/api/incidents/{incident_id}"): {OP, AUD, CREW},
    ("GET", "/api/incidents/{incident_id}/history"): DESK,
    ("POST", "/api/incidents/{incident_id}/dispatch"): {OP},
    **{("POST", route): {CREW} for route in STEP_ROUTES},
    ("POST", "/api/incidents/{incident_id}/cancel"): {OP},
    ("POST", "/api/incidents/{incident_id}/close"): {OP},
    ("GET", "/api/feeds"): DESK,
    ("GET", "/osmand"): None,  # the device id is the credential: checked in its own test
    ("POST", "/osmand"): None,
    ("GET", "/api/views/board"): DESK,
    ("GET", "/api/views/vans"): DESK,
    ("GET", "/api/views/stations"): DESK,
    ("GET", "/api/views/kpis"): DESK,
    ("GET", "/api/incidents/{incident_id}/claim"): DESK,
    ("POST", "/api/incidents/{incident_id}/claim/approval"): {ADM},
    ("POST", "/api/incidents/{incident_id}/claim/submit"): {OP, ADM},
    ("POST", "/api/incidents/{incident_id}/claim/answer"): {ADM},
    ("POST", "/api/incidents/{incident_id}/claim/settle"): {ADM},
    ("GET", "/api/followups"): {OP},
    ("GET", "/api/incidents/{incident_id}/followup"): DESK,
    ("POST", "/api/incidents/{incident_id}/followup/calls"): {OP},
    ("GET", "/api/complaints"): DESK,
    ("GET", "/api/incidents/{incident_id}/complaint"): DESK,
    ("POST", "/api/incidents/{incident_id}/complaint"): {OP},
    ("POST", "/api/incidents/{incident_id}/complaint/answer"): {OP},
    ("POST", "/api/incidents/{incident_id}/complaint/close"): {OP},
    ("GET", "/api/board"): DESK,
    ("GET", "/api/incidents/{incident_id}/export"): {OP, AUD, ADM},
    ("GET", "/api/audit/verify"): {AUD, ADM},
}

# Bodies and queries that pass validation where a route checks the caller in its body.
BODIES = {
    "/api/vans/{van_id}/shift": {"on_duty": True},
    "/api/vans/{van_id}/positions": position(),
    "/api/incidents/{incident_id}/accept": {"eta_min": 12},
    "/api/incidents/{incident_id}/decline": {"reason": "van broken down"},
    "/api/incidents/{incident_id}/diagnose": {"cause": "flat battery"},
    "/api/incidents/{incident_id}/resolve": {"outcome": "repaired_on_site"},
    "/api/incidents/{incident_id}/complete": {"customer_signed": True},
}
QUERIES = {"/api/places": {"q": "Zhengzhou"}}


@pytest.fixture
def world(sqlite_url: str) -> Iterator[HttpWorld]:
    with served(sqlite_url) as world:
        token = world.app.add_user("gone", "operator", None, Actor(role="admin", name="t"))
        world.app.revoke_user("gone", Actor(role="admin", name="t"))
        world.headers["revoked"] = {"Authorization": f"Bearer {token}"}
        yield world


def test_every_route_answers_each_caller_as_listed(world: HttpWorld) -> None:
    # 1. An incident offered to V1, so van-scoped checks have something to refuse.
    incident_id = reported(world.app, report())
    assert world.app.dispatch(incident_id, OPERATOR.actor).body["van_id"] == "V1"
    spec = world.client.get("/openapi.json").json()
    routes = [(m.upper(), p) for p, ops in spec["paths"].items() for m in ops]
    # 2. The list covers every route the server has, and nothing else.
    assert set(routes) == set(ALLOWED), set(routes) ^ set(ALLOWED)
    wrong = []
    for method, template in routes:
        allowed = ALLOWED[(method, template)]
        path = template.replace("{incident_id}", incident_id).replace("{van_id}", "V1")
        kwargs = {"params": QUERIES.get(template)}
        if method == "POST":
            kwargs["json"] = BODIES.get(template, {})
        for who in ("none", "revoked", OP, AUD, ADM, CREW, OTHER):
            headers = world.headers.get(who, {})
            status = world.client.request(method, path, headers=headers, **kwargs).status_code
            if allowed is None:
                ok = status not in (401, 403) or template == "/osmand"
            elif who in ("none", "revoked"):
                ok = status == 401
            elif who in allowed:
                ok = status not in (401, 403)
            elif who == OTHER and template in STEP_ROUTES:
                ok = status == 409
            else:
                ok = status == 403
            if not ok:
                wrong.append((method, template, who, status))
    # 3. Every answer as listed: 401 without a valid token, 403 for the wrong role or van.
    assert wrong == [], "\n".join(map(str, wrong))
