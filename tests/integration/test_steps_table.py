"""One table of steps: REST and the crew socket serve the same steps, and the service keeps
each step to its role whichever way it is called."""

from __future__ import annotations

import pytest

from rescue.api.main import create_app
from rescue.api.routers.live import CREW_STEPS
from rescue.domain.errors import Forbidden
from rescue.domain.vocabulary import Role
from rescue.services.steps import STEPS
from tests.builders import OPERATOR, crew, line_network, load, open_app, report, reported


def test_rest_routes_and_the_crew_socket_serve_the_table() -> None:
    paths = create_app().openapi()["paths"]
    for action, step in STEPS.items():
        operation = paths[f"/api/incidents/{{incident_id}}/{action}"]["post"]
        assert operation["summary"] == step.summary.split(" (")[0]
    assert set(CREW_STEPS) == {a for a, s in STEPS.items() if s.role is Role.CREW}
    assert {a for a, s in STEPS.items() if s.role is Role.OPERATOR} == {"cancel", "close"}


def test_a_step_taken_in_the_wrong_role_is_forbidden_and_records_nothing(store_url: str) -> None:
    with open_app(store_url) as app:
        load(app, *line_network(1))
        incident_id = reported(app, report())
        app.dispatch.dispatch(incident_id, OPERATOR.actor)
        before = app.queries.incident(incident_id).version
        # 1. The offered van's crew may not cancel; the operator may not accept for it.
        with pytest.raises(Forbidden, match="operator"):
            app.steps.take(incident_id, "cancel", {"reason": "no"}, crew("V1"))
        with pytest.raises(Forbidden, match="crew"):
            app.steps.take(incident_id, "accept", {"eta_min": 5.0}, OPERATOR)
        assert app.queries.incident(incident_id).version == before
        # 2. In their own roles both work.
        accepted = app.steps.take(incident_id, "accept", {"eta_min": 5.0}, crew("V1"))
        assert accepted.body["status"] == "accepted"
        assert not accepted.created
