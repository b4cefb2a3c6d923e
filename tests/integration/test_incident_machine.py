"""The life of incidents as a hypothesis state machine, checked against a plain model.

Hypothesis plays random sequences of everything people and timers do to a small
network over HTTP: operators report, dispatch, override, cancel and close;
crews accept, decline and work the job; vans go on and off shift; time passes
and unanswered offers expire. Every command is sent by the right role and by
wrong ones. `tests/incident_model.py` says what each command must answer
(accepted, or refused with 403, 409 or 422) and what incidents and vans must
look like after it; the store is read back after every step and must agree,
and must also keep the invariants that do not depend on the model: no van on
two incidents, a van and its incident pointing at each other, finished
incidents never changing, a log that only grows, and an actor on every event.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

import pytest
from eventsourcing.persistence import Notification
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from rescue.api.main import create_app
from rescue.bootstrap import Rescue, timers_for
from tests.builders import ADMIN as ADMIN_ACTOR
from tests.builders import (
    ZZ_LAT,
    FakeClock,
    bearer,
    binding_violations,
    line_network,
    load,
    report,
    settings_for,
)
from tests.incident_model import (
    ADMIN,
    AUDITOR,
    CONFLICT,
    FINAL,
    FORBIDDEN,
    INVALID,
    OK,
    OPERATOR,
    Model,
    VanModel,
    crew_of,
)
from tests.integration.test_concurrency import Stores

VANS = ("V1", "V2", "V3")
STEP_DEG = 0.05  # between stations of the line network
CAPABILITIES = ("battery", "tow")
FAULTS = {"battery": "battery", "accident": "tow"}
OFFER_TIMEOUT_S = 90.0
MAX_INCIDENTS = 6
STATUS_OF = {OK: (200, 201), FORBIDDEN: (403,), CONFLICT: (409,), INVALID: (422,)}

WHO = st.sampled_from([OPERATOR, AUDITOR, ADMIN, *(crew_of(v) for v in VANS)])
# Crew steps are mostly taken by the crew of the incident's van, so jobs get worked.
CREW_WHO = st.one_of(st.just("holder"), st.just("holder"), WHO)
INCIDENT = st.integers(0, MAX_INCIDENTS - 1)
# Bodies are mostly valid, so jobs move on; now and then one breaks an input rule.
MOSTLY_TRUE = st.sampled_from([True, True, True, False])
# A call: the site (just north of station S<site+1>), the fault and whether someone is hurt.
CALL = st.tuples(st.integers(0, len(VANS) - 1), st.sampled_from(sorted(FAULTS)), st.booleans())

STEP_BODIES: dict[str, tuple[dict[str, Any], dict[str, Any] | None]] = {
    # action: (a valid body, an invalid one or None)
    "accept": ({"eta_min": 12.0}, {"eta_min": -5}),
    "decline": ({"reason": "van has a flat tyre"}, {"reason": ""}),
    "depart": ({}, None),
    "arrive": ({}, None),
    "diagnose": ({"cause": "dead battery cell"}, {"cause": ""}),
    "complete": ({"customer_signed": True, "satisfaction": 5}, {"customer_signed": "maybe"}),
    "cancel": ({"reason": "caller got going"}, {"reason": ""}),
    "close": ({}, None),
}
# The moves each status waits for, the usual one first.
NEXT_MOVES = {
    "reported": ["dispatch"],
    "queued": ["dispatch", "dispatch", "cancel"],
    "offered": ["accept", "accept", "decline", "override"],
    "accepted": ["depart", "depart", "cancel"],
    "en_route": ["arrive"],
    "on_scene": ["repaired", "towed", "diagnose", "complete"],
    "towing": ["complete"],
    "completed": ["close"],
}


class IncidentLife(RuleBasedStateMachine):
    stores: Stores  # set by the test before the machine runs

    def __init__(self) -> None:
        super().__init__()
        self.exits = ExitStack()
        self.client: TestClient
        self.app: Rescue
        self.model: Model
        self.ids: list[str] = []
        self.tokens: dict[str, dict[str, str]] = {}
        self.clock: FakeClock
        self.log: list[tuple[int, str, int, str, bytes]] = []
        self.final_versions: dict[str, int] = {}

    # -- set-up ----------------------------------------------------------------------------

    @initialize(
        kits=st.lists(
            st.sets(st.sampled_from(CAPABILITIES), min_size=1),
            min_size=len(VANS),
            max_size=len(VANS),
        ),
        calls=st.lists(CALL, min_size=1, max_size=3),
    )
    def network(self, kits: list[set[str]], calls: list[tuple[int, str, bool]]) -> None:
        clock = FakeClock()
        settings_ = settings_for(
            self.stores.fresh(),
            offer_timeout_s=OFFER_TIMEOUT_S,
            timer_interval_s=3600.0,  # the test ticks the timers itself
            rate_limit_per_s=1e6,
            rate_limit_burst=1e6,
        )
        self.client = self.exits.enter_context(TestClient(create_app(settings_, clock=clock)))
        self.app = self.client.app.state.rescue  # type: ignore[attr-defined]
        self.clock = clock
        stations, vans = line_network(len(VANS), step_deg=STEP_DEG)
        for spec, kit in zip(vans, kits, strict=True):
            spec["capabilities"] = sorted(kit)
        load(self.app, stations, vans)
        users = {who: (who, None) for who in (OPERATOR, AUDITOR, ADMIN)}
        users |= {crew_of(v): ("crew", v) for v in VANS}
        self.tokens = {
            who: bearer(self.app.access.add_user(who.replace(":", "-"), role, van, ADMIN_ACTOR))
            for who, (role, van) in users.items()
        }
        self.model = Model(
            vans={
                spec["van_id"]: VanModel(
                    spec["van_id"], ZZ_LAT + i * STEP_DEG, frozenset(spec["capabilities"])
                )
                for i, spec in enumerate(vans)
            },
            offer_timeout_s=OFFER_TIMEOUT_S,
            now=clock.now,
        )
        self.log = [self._row(n) for n in self._notifications(0)]
        # A few calls from the start, so every rule has an incident to act on.
        for site, fault, injury in calls:
            self._report(OPERATOR, site, fault, injury)

    def teardown(self) -> None:
        self.exits.close()

    # -- helpers -----------------------------------------------------------------------------

    def _post(self, who: str, path: str, body: dict[str, Any]) -> Any:
        return self.client.post(path, json=body, headers=self.tokens[who])

    def _check(self, expected: str, response: Any, what: str) -> None:
        assert response.status_code in STATUS_OF[expected], (
            f"{what}: expected {expected}, got {response.status_code} {response.text[:400]}"
        )

    def _incident(self, i: int) -> str:
        return self.ids[i % len(self.ids)]

    def _holder(self, who: str, incident_id: str) -> str:
        if who != "holder":
            return who
        van = self.model.incidents[incident_id].van_id or VANS[0]
        return crew_of(van)

    def _notifications(self, after: int) -> list[Notification]:
        return list(self.app.store.recorder.select_notifications(start=after + 1, limit=10**6))

    @staticmethod
    def _row(n: Notification) -> tuple[int, str, int, str, bytes]:
        return (n.id, str(n.originator_id), n.originator_version, n.topic, n.state)

    # -- the operator --------------------------------------------------------------------------

    @precondition(lambda self: len(self.ids) < MAX_INCIDENTS)
    @rule(who=st.one_of(st.just(OPERATOR), WHO), call=CALL)
    def report_call(self, who: str, call: tuple[int, str, bool]) -> None:
        self._report(who, *call)

    def _report(self, who: str, site: int, fault: str, injury: bool) -> None:
        # Each site lies just north of a station, so the nearest van differs by site.
        lat = ZZ_LAT + site * STEP_DEG + 0.01
        body = report(lat=lat, category=fault, n=len(self.ids), injury=injury)
        response = self._post(who, "/api/incidents", body)
        created = response.json() if response.status_code == 201 else None
        incident_id = created["incident_id"] if created else None
        expected = self.model.report(
            who, incident_id, lat, FAULTS[fault], created["priority"] if created else 0
        )
        self._check(expected, response, f"report by {who}")
        if incident_id is not None:
            self.ids.append(incident_id)

    @precondition(lambda self: self.ids)
    @rule(who=st.one_of(st.just(OPERATOR), WHO), i=INCIDENT)
    def dispatch_nearest(self, who: str, i: int) -> None:
        incident_id = self._incident(i)
        response = self._post(who, f"/api/incidents/{incident_id}/dispatch", {})
        self._check(self.model.dispatch(who, incident_id), response, f"dispatch by {who}")

    @precondition(lambda self: self.ids)
    @rule(
        who=st.one_of(st.just(OPERATOR), WHO),
        i=INCIDENT,
        van=st.sampled_from([*VANS, "V9"]),
        reason=st.sampled_from(["nearest van is on a job", None]),
    )
    def override(self, who: str, i: int, van: str, reason: str | None) -> None:
        self._override(who, self._incident(i), van, reason)

    def _override(self, who: str, incident_id: str, van: str, reason: str | None) -> None:
        body = {"van_id": van, **({"reason": reason} if reason else {})}
        response = self._post(who, f"/api/incidents/{incident_id}/dispatch", body)
        expected = self.model.override(who, incident_id, van, reason)
        self._check(expected, response, f"override to {van} by {who}")

    # -- steps ---------------------------------------------------------------------------------

    def _step(self, action: str, who: str, incident_id: str, valid: bool = True) -> None:
        good, bad = STEP_BODIES[action]
        body = good if valid or bad is None else bad
        response = self._post(who, f"/api/incidents/{incident_id}/{action}", body)
        expected = self.model.step(who, incident_id, action, valid=valid or bad is None)
        self._check(expected, response, f"{action} by {who}")
        if response.status_code == 200:
            assert response.json()["status"] == self.model.incidents[incident_id].status

    def _resolve(self, who: str, incident_id: str, towed: bool, station_known: bool) -> None:
        if towed:
            body = {"outcome": "towed", "tow_station_id": "S1" if station_known else "S99"}
        else:
            body = {"outcome": "repaired_on_site", "tow_station_id": None}
        response = self._post(who, f"/api/incidents/{incident_id}/resolve", body)
        expected = self.model.resolve(who, incident_id, towed, station_known)
        self._check(expected, response, f"resolve ({body['outcome']}) by {who}")

    @precondition(lambda self: self.ids)
    @rule(
        action=st.sampled_from(["accept", "decline", "depart", "arrive", "diagnose", "complete"]),
        who=CREW_WHO,
        i=INCIDENT,
        valid=MOSTLY_TRUE,
    )
    def crew_step(self, action: str, who: str, i: int, valid: bool) -> None:
        incident_id = self._incident(i)
        self._step(action, self._holder(who, incident_id), incident_id, valid)

    @precondition(lambda self: self.ids)
    @rule(who=CREW_WHO, i=INCIDENT, towed=st.booleans(), station_known=MOSTLY_TRUE)
    def resolve(self, who: str, i: int, towed: bool, station_known: bool) -> None:
        incident_id = self._incident(i)
        self._resolve(self._holder(who, incident_id), incident_id, towed, station_known)

    @precondition(lambda self: self.ids)
    @rule(
        action=st.sampled_from(["cancel", "close"]),
        who=st.one_of(st.just(OPERATOR), WHO),
        i=INCIDENT,
        valid=MOSTLY_TRUE,
    )
    def operator_step(self, action: str, who: str, i: int, valid: bool) -> None:
        self._step(action, who, self._incident(i), valid)

    @precondition(lambda self: self.ids)
    @rule(i=INCIDENT, choices=st.lists(st.integers(0, 3), min_size=1, max_size=4))
    def next_steps(self, i: int, choices: list[int]) -> None:
        """Moves taken by those whose turn it is, each one of the moves the status allows.

        Random rules alone seldom carry a call from report to close; these do.
        """
        incident_id = self._incident(i)
        for choice in choices:
            incident = self.model.incidents[incident_id]
            if incident.status in FINAL:
                return
            moves = NEXT_MOVES[incident.status]
            move = moves[choice % len(moves)]
            holder = crew_of(incident.van_id or VANS[0])
            if move == "dispatch":
                response = self._post(OPERATOR, f"/api/incidents/{incident_id}/dispatch", {})
                self._check(self.model.dispatch(OPERATOR, incident_id), response, "dispatch")
            elif move == "override":
                fits = [
                    v.van_id
                    for v in self.model.vans.values()
                    if v.free and incident.capability in v.capabilities
                ]
                van = fits[choice % len(fits)] if fits else VANS[choice % len(VANS)]
                self._override(OPERATOR, incident_id, van, "that van is closer by road")
            elif move in ("repaired", "towed"):
                self._resolve(holder, incident_id, move == "towed", station_known=True)
            else:
                self._step(move, OPERATOR if move in ("close", "cancel") else holder, incident_id)

    @rule(
        who=st.one_of(st.sampled_from([OPERATOR, "holder"]), WHO),
        van=st.sampled_from(VANS),
        on_duty=st.booleans(),
    )
    def shift(self, who: str, van: str, on_duty: bool) -> None:
        who = crew_of(van) if who == "holder" else who
        response = self._post(who, f"/api/vans/{van}/shift", {"on_duty": on_duty})
        self._check(self.model.shift(who, van, on_duty), response, f"shift of {van} by {who}")

    @rule(seconds=st.sampled_from([30.0, 60.0, OFFER_TIMEOUT_S + 1]))
    def time_passes(self, seconds: float) -> None:
        # What the server's timer thread does on each tick, run here once the clock moved.
        self.clock.advance(seconds)
        timers_for(self.app).tick()
        self.model.tick(seconds)

    # -- what must hold after every step ---------------------------------------------------------

    @invariant()
    def store_agrees_with_model(self) -> None:
        if not hasattr(self, "model"):
            return
        for incident_id, expected in self.model.incidents.items():
            stored = self.app.queries.incident(incident_id)
            found = (
                stored.status.value,
                stored.van_id,
                stored.declined_van_ids,
                stored.resolution is not None,
                stored.offer_expires_at,
            )
            wanted = (
                expected.status,
                expected.van_id,
                expected.declined,
                expected.resolved,
                expected.expires_at,
            )
            assert found == wanted, f"incident #{expected.seq}: stored {found}, model {wanted}"
        for van_id, van in self.model.vans.items():
            stored_van = self.app.runner.van(van_id)
            found_van = (stored_van.on_duty, stored_van.incident_id, stored_van.engaged)
            wanted_van = (van.on_duty, van.incident_id, van.engaged)
            assert found_van == wanted_van, f"van {van_id}: stored {found_van}, model {wanted_van}"

    @invariant()
    def vans_and_incidents_one_to_one(self) -> None:
        if hasattr(self, "model"):
            assert binding_violations(self.app) == []

    @invariant()
    def finished_incidents_never_change(self) -> None:
        if not hasattr(self, "model"):
            return
        for incident_id, incident in self.model.incidents.items():
            if incident.status not in FINAL:
                continue
            version = self.app.queries.incident(incident_id).version
            first_seen = self.final_versions.setdefault(incident_id, version)
            assert version == first_seen, f"{incident.status} incident #{incident.seq} changed"

    @invariant()
    def log_only_grows_and_every_event_has_an_actor(self) -> None:
        if not hasattr(self, "model"):
            return
        # The part of the log seen before is still there, unchanged, in the same order.
        everything = [self._row(n) for n in self._notifications(0)]
        assert everything[: len(self.log)] == self.log
        for notification in self._notifications(self.log[-1][0] if self.log else 0):
            domain_event: Any = self.app.store.mapper.to_domain_event(notification)
            actor = getattr(domain_event, "actor", None)
            assert isinstance(actor, dict) and actor.get("role") and actor.get("name"), (
                f"{notification.topic} v{notification.originator_version} has no actor: {actor}"
            )
        self.log = everything


def run_machine(store_url: str, examples: int, steps: int) -> None:
    machine = type("Life", (IncidentLife,), {"stores": Stores(store_url)})
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


def test_incident_life_follows_the_model_on_sqlite(sqlite_url: str) -> None:
    run_machine(sqlite_url, examples=50, steps=60)  # about 25 s here


@pytest.mark.postgres
def test_incident_life_follows_the_model_on_postgres(postgres_url: str) -> None:
    run_machine(postgres_url, examples=15, steps=60)  # about 20 s here


@pytest.mark.slow
def test_many_more_incident_lives_follow_the_model(store_url: str) -> None:
    run_machine(store_url, examples=300, steps=100)
