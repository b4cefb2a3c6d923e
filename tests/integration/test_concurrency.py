"""Concurrent commands never bind one van to two incidents.

Two writers who both saw a van free race to save; the store's optimistic
concurrency check lets one through and makes the other re-run on fresh state,
where the van is no longer free. The property test throws random mixes of
dispatch, override, decline, accept, complete and cancel at a small network
from several threads and checks, in the store, that vans and incidents still
point at each other one to one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from rescue.api.main import create_app
from rescue.bootstrap import Rescue, bootstrap
from rescue.domain.errors import Conflict, Forbidden
from rescue.domain.vocabulary import FaultCategory
from tests.builders import (
    ADMIN,
    OPERATOR,
    bearer,
    binding_violations,
    crew,
    line_network,
    load,
    open_app,
    report,
    reported,
    settings_for,
)
from tests.support import sqlite_path_of


@dataclass
class Outcome:
    value: Any = None
    error: BaseException | None = None


def race(*calls: Callable[[], Any]) -> list[Outcome]:
    """Runs each call in its own thread, all released at once by a barrier."""
    barrier = threading.Barrier(len(calls))
    outcomes = [Outcome() for _ in calls]

    def run(i: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            outcomes[i].value = call()
        except BaseException as error:
            outcomes[i].error = error

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


# -- two operators, one van --------------------------------------------------------------


@pytest.fixture
def app(store_url: str) -> Iterator[Rescue]:
    with open_app(store_url) as rescue:
        load(rescue, *line_network(2))
        yield rescue


def override_to_v1(app: Rescue, incident_id: str) -> Callable[[], Any]:
    return lambda: app.dispatch.dispatch(
        incident_id, OPERATOR.actor, van_id="V1", reason="best truck"
    )


def test_two_overrides_to_one_van_one_wins_one_conflicts(app: Rescue) -> None:
    for round_no in range(5):
        # 1. Two calls; both operators pick V1 by override at the same moment.
        first = reported(app, report(n=2 * round_no))
        second = reported(app, report(n=2 * round_no + 1))
        outcomes = race(override_to_v1(app, first), override_to_v1(app, second))
        # 2. Exactly one wins, the other gets Conflict.
        errors = [o.error for o in outcomes]
        assert sum(e is None for e in errors) == 1, errors
        assert sum(isinstance(e, Conflict) for e in errors) == 1, errors
        winner, loser = (first, second) if errors[0] is None else (second, first)
        # 3. The store agrees: V1 holds the winner, the loser was never offered.
        assert app.runner.van("V1").incident_id == winner
        assert app.queries.incident(winner).van_id == "V1"
        assert app.queries.incident(loser).status == "reported"
        assert "Offered" not in [
            e["type"] for e in app.queries.history(loser, None, with_caller=False)["events"]
        ]
        assert binding_violations(app) == []
        # 4. Free V1 for the next round.
        app.steps.take(winner, "cancel", {"reason": "round over"}, OPERATOR)
        app.steps.take(loser, "cancel", {"reason": "round over"}, OPERATOR)


def test_two_processes_racing_for_one_van_one_wins(app: Rescue) -> None:
    # 1. A second application on the same store, as a second server process would be.
    other = bootstrap(app.settings)
    try:
        first = reported(app, report(n=1))
        second = reported(app, report(n=2))
        # 2. Each process overrides a different call to V1 at the same moment.
        outcomes = race(override_to_v1(app, first), override_to_v1(other, second))
        errors = [o.error for o in outcomes]
        assert sum(e is None for e in errors) == 1, errors
        assert sum(isinstance(e, Conflict) for e in errors) == 1, errors
        # 3. One van, one incident, in the store.
        assert binding_violations(app) == []
    finally:
        other.close()


def test_two_overrides_over_http_answer_200_and_409(store_url: str) -> None:
    with TestClient(create_app(settings_for(store_url))) as client:
        # 1. The network, an operator token and two calls.
        rescue: Rescue = client.app.state.rescue  # type: ignore[attr-defined]
        load(rescue, *line_network(2))
        headers = bearer(rescue.access.add_user("op-http", "operator", None, ADMIN))
        ids = [
            client.post("/api/incidents", json=report(n=n), headers=headers).json()["incident_id"]
            for n in (1, 2)
        ]

        # 2. Both calls dispatched to V1 by override at the same moment.
        def post(incident_id: str) -> Callable[[], Any]:
            return lambda: client.post(
                f"/api/incidents/{incident_id}/dispatch",
                json={"van_id": "V1", "reason": "best truck"},
                headers=headers,
            )

        outcomes = race(post(ids[0]), post(ids[1]))
        assert [o.error for o in outcomes] == [None, None]
        # 3. One 200, one 409 that carries the van's state.
        statuses = sorted(o.value.status_code for o in outcomes)
        assert statuses == [200, 409]
        refused = next(o.value for o in outcomes if o.value.status_code == 409)
        assert refused.json()["detail"]
        assert refused.json()["state"]["van_id"] == "V1"
        assert binding_violations(rescue) == []


# -- the property ------------------------------------------------------------------------

KINDS = ("dispatch", "override", "decline", "accept", "complete", "cancel")
CATEGORIES = [c.value for c in FaultCategory]


@dataclass(frozen=True)
class Scenario:
    vans: int
    categories: list[str]
    threads: int
    ops: list[tuple[int, str, int, int]]  # (thread, kind, incident index, van index)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    vans = draw(st.integers(2, 4))
    categories = draw(st.lists(st.sampled_from(CATEGORIES), min_size=2, max_size=5))
    threads = draw(st.integers(2, 4))
    op = st.tuples(
        st.integers(0, threads - 1),
        st.sampled_from(KINDS),
        st.integers(0, len(categories) - 1),
        st.integers(0, vans - 1),
    )
    return Scenario(vans, categories, threads, draw(st.lists(op, min_size=4, max_size=24)))


def perform(app: Rescue, kind: str, incident_id: str, van_id: str) -> None:
    """One operator or crew action; crew actions are taken by the van holding the call."""
    if kind == "dispatch":
        app.dispatch.dispatch(incident_id, OPERATOR.actor)
    elif kind == "override":
        app.dispatch.dispatch(
            incident_id, OPERATOR.actor, van_id=van_id, reason="operator's choice"
        )
    elif kind == "cancel":
        app.steps.take(incident_id, "cancel", {"reason": "caller fixed it"}, OPERATOR)
    else:
        holder = crew(app.queries.incident(incident_id).van_id or van_id)
        if kind == "accept":
            app.steps.take(incident_id, "accept", {"eta_min": 10.0}, holder)
        elif kind == "decline":
            app.steps.take(incident_id, "decline", {"reason": "van broke down"}, holder)
        else:
            if app.queries.incident(incident_id).status == "offered":
                app.steps.take(incident_id, "accept", {"eta_min": 10.0}, holder)
            app.steps.take(incident_id, "depart", {}, holder)
            app.steps.take(incident_id, "arrive", {}, holder)
            resolved = {"outcome": "repaired_on_site", "tow_station_id": None}
            app.steps.take(incident_id, "resolve", resolved, holder)
            app.steps.take(incident_id, "complete", {"customer_signed": True}, holder)


def run_concurrently(
    app: Rescue, scenario: Scenario, incident_ids: list[str]
) -> tuple[list[str], list[str]]:
    """Plays each thread's share of the operations; returns unexpected errors and outcomes."""
    unexpected: list[str] = []
    outcomes: list[str] = []

    def play(thread: int) -> Callable[[], None]:
        def run() -> None:
            for owner, kind, i, v in scenario.ops:
                if owner != thread:
                    continue
                try:
                    perform(app, kind, incident_ids[i], f"V{v + 1}")
                    outcomes.append(f"{kind}: done")
                except Conflict:
                    # The state moved on under us: the expected answer to a race.
                    outcomes.append(f"{kind}: conflict")
                except Forbidden:
                    # A crew step on an incident that is (now) with another van.
                    outcomes.append(f"{kind}: not this van's")
                except Exception as error:
                    unexpected.append(f"{kind} {i} V{v + 1}: {error!r}")

        return run

    for outcome in race(*(play(t) for t in range(scenario.threads))):
        assert outcome.error is None
    return unexpected, outcomes


class Stores:
    """A clean store for every example: a new SQLite file, or an emptied PostgreSQL schema."""

    def __init__(self, store_url: str) -> None:
        self.url = store_url
        self.count = 0

    def fresh(self) -> str:
        self.count += 1
        if self.url.startswith("sqlite:"):
            path = sqlite_path_of(self.url)
            return "sqlite:///" + str(path.with_name(f"example-{self.count}.db"))
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")
        return self.url


@pytest.fixture
def stores(store_url: str) -> Stores:
    return Stores(store_url)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=scenarios())
def test_random_concurrent_commands_keep_vans_and_incidents_one_to_one(
    stores: Stores, scenario: Scenario
) -> None:
    with open_app(stores.fresh()) as app:
        # 1. A line of vans carrying everything, and the calls, reported one by one.
        load(app, *line_network(scenario.vans, step_deg=0.02))
        incident_ids = [
            reported(app, report(category=c, n=n)) for n, c in enumerate(scenario.categories)
        ]
        # 2. The operations, from 2-4 threads started together.
        unexpected, outcomes = run_concurrently(app, scenario, incident_ids)
        for outcome in sorted(set(outcomes)):
            event(outcome)  # shown by --hypothesis-show-statistics
        assert unexpected == []
        # 3. Read back from the store: one van per bound incident, pointing back at it.
        assert binding_violations(app) == []
