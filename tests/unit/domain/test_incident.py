"""`Incident` on its own: every step, its event, and every step refused where it does not fit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rescue.domain.actors import SYSTEM_ACTOR, Actor
from rescue.domain.errors import Conflict, Forbidden
from rescue.domain.incidents import Incident
from rescue.domain.vocabulary import IncidentStatus
from tests.unit.domain.checks import fields, last_event, rebuilt, recorded, refused

S = IncidentStatus

OPERATOR = Actor(role="operator", name="op-1").as_dict()
SYSTEM = SYSTEM_ACTOR.as_dict()
NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
EXPIRES = NOW + timedelta(minutes=2)
DECISION = {"rule": "nearest", "candidates": 3}
VEHICLE = {"vin": "LJNTGU2S0JN000001", "plate": "豫A12345", "model_series": "PALADIN"}
LOCATION = {"lat": 34.75, "lon": 113.62, "description": "G4 expressway, km 712"}
FAULT = {"category": "battery", "description": "will not start"}
SAFETY = {"on_expressway": True, "at_night": False, "passengers": 1, "injury": False}
DIAGNOSIS: dict[str, Any] = {
    "cause": "dead cell",
    "parts": [{"part_no": "B-1", "name": "battery", "qty": 1, "system": "other"}],
    "findings": [],
}


def crew(van_id: str = "V-1") -> dict[str, Any]:
    return Actor(role="crew", name=f"crew-{van_id}", van_id=van_id).as_dict()


def reported() -> Incident:
    return Incident(
        sealed_caller="sealed:Wang Wei 13800138000",
        vehicle=VEHICLE,
        location=LOCATION,
        fault=FAULT,
        safety=SAFETY,
        priority=2,
        priority_reasons=["on an expressway"],
        capability="battery",
        actor=OPERATOR,
    )


def offer(incident: Incident, van_id: str = "V-1") -> str | None:
    return incident.offer(
        van_id=van_id,
        station_id="S-1",
        distance_km=4.2,
        eta_min=11.0,
        expires_at=EXPIRES,
        decision=DECISION,
        actor=SYSTEM,
    )


def crew_van(incident: Incident) -> str:
    """The van a crew step is taken for: the incident's own, so only its status can refuse."""
    return incident.van_id or "V-1"


# Each command with arguments that fit, so the incident's status alone decides.
COMMANDS: dict[str, Callable[[Incident], object]] = {
    "offer": lambda i: offer(i, "V-2"),
    "queue": lambda i: i.queue(DECISION, SYSTEM),
    "decline": lambda i: i.decline(crew_van(i), "no tow bar", crew(crew_van(i))),
    "expire_offer": lambda i: i.expire_offer(EXPIRES, SYSTEM),
    "accept": lambda i: i.accept(crew_van(i), 12.0, crew(crew_van(i))),
    "depart": lambda i: i.depart(crew_van(i), crew(crew_van(i))),
    "arrive": lambda i: i.arrive(crew_van(i), crew(crew_van(i))),
    "diagnose": lambda i: i.diagnose(crew_van(i), **DIAGNOSIS, actor=crew(crew_van(i))),
    "resolve": lambda i: i.resolve(crew_van(i), "repaired_on_site", None, crew(crew_van(i))),
    "complete": lambda i: i.complete(crew_van(i), True, 5, crew(crew_van(i))),
    "cancel": lambda i: i.cancel("caller fixed it", OPERATOR),
    "close": lambda i: i.close(OPERATOR),
}
CREW_STEPS = frozenset({"decline", "accept", "depart", "arrive", "diagnose", "resolve", "complete"})

# Where each command may start from, written out rather than imported, so that a change to the
# rules shows up here; and the words its refusal uses.
DISPATCHABLE = frozenset({S.REPORTED, S.QUEUED, S.OFFERED})
ALLOWED: dict[str, frozenset[IncidentStatus]] = {
    "offer": DISPATCHABLE,
    "queue": DISPATCHABLE,
    "decline": frozenset({S.OFFERED}),
    "expire_offer": frozenset({S.OFFERED}),
    "accept": frozenset({S.OFFERED}),
    "depart": frozenset({S.ACCEPTED}),
    "arrive": frozenset({S.EN_ROUTE}),
    "diagnose": frozenset({S.ON_SCENE}),
    "resolve": frozenset({S.ON_SCENE}),
    "complete": frozenset({S.ON_SCENE, S.TOWING}),
    "cancel": frozenset({S.REPORTED, S.QUEUED, S.OFFERED, S.ACCEPTED, S.EN_ROUTE, S.ON_SCENE}),
    "close": frozenset({S.COMPLETED}),
}
STEP_WORDS = {
    "offer": "dispatch",
    "expire_offer": "expire the offer of",
    "depart": "depart for",
    "arrive": "arrive at",
}

# How to bring a new incident to each status.
PATHS: dict[IncidentStatus, list[str]] = {
    S.REPORTED: [],
    S.QUEUED: ["queue"],
    S.OFFERED: ["offer"],
    S.ACCEPTED: ["offer", "accept"],
    S.EN_ROUTE: ["offer", "accept", "depart"],
    S.ON_SCENE: ["offer", "accept", "depart", "arrive"],
    S.TOWING: ["offer", "accept", "depart", "arrive", "tow"],
    S.COMPLETED: ["offer", "accept", "depart", "arrive", "resolve", "complete"],
    S.CLOSED: ["offer", "accept", "depart", "arrive", "resolve", "complete", "close"],
    S.CANCELLED: ["cancel"],
}


def incident_in(status: IncidentStatus) -> Incident:
    incident = reported()
    for step in PATHS[status]:
        if step == "offer":
            offer(incident, "V-1")
        elif step == "tow":
            incident.resolve("V-1", "towed", "S-9", crew())
        else:
            COMMANDS[step](incident)
    assert incident.status is status
    return incident


def test_an_incident_goes_from_report_to_close() -> None:
    # 1. The operator reports a breakdown.
    incident = reported()
    assert incident.status is S.REPORTED
    assert incident.is_open
    assert recorded(incident) == ["Reported"]
    assert fields(last_event(incident)) == {
        "sealed_caller": "sealed:Wang Wei 13800138000",
        "vehicle": VEHICLE,
        "location": LOCATION,
        "fault": FAULT,
        "safety": SAFETY,
        "priority": 2,
        "priority_reasons": ["on an expressway"],
        "capability": "battery",
        "actor": OPERATOR,
    }

    # 2. Dispatch offers it to van V-1; nothing was withdrawn.
    assert offer(incident, "V-1") is None
    assert (incident.status, incident.van_id, incident.station_id) == (S.OFFERED, "V-1", "S-1")
    assert incident.offer_expires_at == EXPIRES
    assert fields(last_event(incident)) == {
        "van_id": "V-1",
        "station_id": "S-1",
        "distance_km": 4.2,
        "eta_min": 11.0,
        "expires_at": EXPIRES,
        "decision": DECISION,
        "withdrawn_from": None,
        "actor": SYSTEM,
    }

    # 3. Re-offered to V-2 before V-1 answers: the offer is withdrawn from V-1.
    assert offer(incident, "V-2") == "V-1"
    assert last_event(incident).withdrawn_from == "V-1"
    assert incident.van_id == "V-2"

    # 4. V-2 declines: the incident is back to reported, and V-2 is remembered.
    incident.decline("V-2", "no tow bar", crew("V-2"))
    assert fields(last_event(incident)) == {
        "van_id": "V-2",
        "reason": "no tow bar",
        "actor": crew("V-2"),
    }
    assert (incident.status, incident.van_id, incident.offer_expires_at) == (S.REPORTED, None, None)
    assert incident.declined_van_ids == ["V-2"]

    # 5. Offered to V-1 again, which accepts with its own estimate.
    offer(incident, "V-1")
    incident.accept("V-1", 14.0, crew())
    assert fields(last_event(incident)) == {"eta_min": 14.0, "actor": crew()}
    assert (incident.status, incident.eta_min, incident.offer_expires_at) == (
        S.ACCEPTED,
        14.0,
        None,
    )
    assert incident.version_accepted == incident.version

    # 6. The crew departs and arrives.
    incident.depart("V-1", crew())
    assert incident.status is S.EN_ROUTE
    incident.arrive("V-1", crew())
    assert incident.status is S.ON_SCENE

    # 7. The crew diagnoses twice: the later diagnosis replaces the earlier one.
    incident.diagnose("V-1", "flat battery", [], ["undetermined"], crew())
    incident.diagnose("V-1", **DIAGNOSIS, actor=crew())
    assert fields(last_event(incident)) == {**DIAGNOSIS, "actor": crew()}
    assert incident.diagnosis == DIAGNOSIS

    # 8. Repaired on site: the incident stays on scene until completed.
    incident.resolve("V-1", "repaired_on_site", None, crew())
    assert fields(last_event(incident)) == {
        "outcome": "repaired_on_site",
        "tow_station_id": None,
        "actor": crew(),
    }
    assert incident.status is S.ON_SCENE
    assert incident.resolution == {"outcome": "repaired_on_site", "tow_station_id": None}

    # 9. The customer signs off; the incident is no longer open.
    incident.complete("V-1", True, 5, crew())
    assert fields(last_event(incident)) == {
        "customer_signed": True,
        "satisfaction": 5,
        "actor": crew(),
    }
    assert incident.status is S.COMPLETED
    assert incident.completion == {"customer_signed": True, "satisfaction": 5}
    assert not incident.is_open

    # 10. The operator closes it.
    incident.close(OPERATOR)
    assert incident.status is S.CLOSED

    # 11. The record shows every step's outcome.
    public = incident.as_public()
    assert public["incident_id"] == str(incident.id)
    assert {
        k: v for k, v in public.items() if k not in ("incident_id", "reported_at", "updated_at")
    } == {
        "status": "closed",
        "priority": 2,
        "priority_reasons": ["on an expressway"],
        "capability": "battery",
        "vehicle": VEHICLE,
        "location": LOCATION,
        "fault": FAULT,
        "safety": SAFETY,
        "van_id": "V-1",
        "station_id": "S-1",
        "eta_min": 14.0,
        "offer_expires_at": None,
        "declined_van_ids": ["V-2"],
        "diagnosis": DIAGNOSIS,
        "resolution": {"outcome": "repaired_on_site", "tow_station_id": None},
        "completion": {"customer_signed": True, "satisfaction": 5},
        "cancel_reason": None,
        "version": 13,
    }

    # 12. Every step is one event, in order, and they rebuild the same incident.
    assert recorded(incident) == [
        "Reported",
        "Offered",
        "Offered",
        "Declined",
        "Offered",
        "Accepted",
        "Departed",
        "Arrived",
        "Diagnosed",
        "Diagnosed",
        "Resolved",
        "Completed",
        "Closed",
    ]
    assert rebuilt(incident).as_public()["status"] == "closed"


def test_the_public_view_leaves_the_sealed_caller_out() -> None:
    public = reported().as_public()
    assert "sealed_caller" not in public
    assert "sealed" not in repr(public)
    assert (public["status"], public["version"], public["van_id"]) == ("reported", 1, None)


def test_a_towed_vehicle_is_completed_from_towing() -> None:
    # 1. On scene, the crew decides to tow to station S-9.
    incident = incident_in(S.ON_SCENE)
    incident.resolve("V-1", "towed", "S-9", crew())
    assert incident.status is S.TOWING
    assert incident.resolution == {"outcome": "towed", "tow_station_id": "S-9"}

    # 2. Once delivered, the crew completes without a signature.
    incident.complete("V-1", False, None, crew())
    assert incident.status is S.COMPLETED
    assert incident.completion == {"customer_signed": False, "satisfaction": None}
    rebuilt(incident)


def test_completing_before_the_outcome_is_recorded_is_refused() -> None:
    incident = incident_in(S.ON_SCENE)
    with refused(
        incident,
        Conflict,
        "record the outcome (resolve: repaired_on_site or towed) before completing",
    ) as e:
        incident.complete("V-1", True, 5, crew())
    assert isinstance(e.value, Conflict)
    assert e.value.state == incident.as_public()


def test_queueing_clears_any_van_and_queueing_again_records_nothing() -> None:
    # 1. No van fits: the offered incident is queued and lets its van go.
    incident = incident_in(S.OFFERED)
    incident.queue(DECISION, SYSTEM)
    assert fields(last_event(incident)) == {"decision": DECISION, "actor": SYSTEM}
    assert (incident.status, incident.van_id, incident.station_id) == (S.QUEUED, None, None)
    assert incident.offer_expires_at is None

    # 2. Queued again: already queued, so no second event.
    version = incident.version
    incident.queue({"rule": "nearest", "candidates": 0}, SYSTEM)
    assert incident.version == version
    assert recorded(incident)[-1] == "Queued"
    assert incident.last_dispatch == DECISION

    # 3. A van frees up: a queued incident can be offered.
    offer(incident, "V-3")
    assert incident.status is S.OFFERED
    rebuilt(incident)


def test_an_unanswered_offer_expires_only_once_its_time_has_come() -> None:
    # 1. A second before the deadline the offer still stands.
    incident = incident_in(S.OFFERED)
    with refused(incident, Conflict, "the offer has not expired yet"):
        incident.expire_offer(EXPIRES - timedelta(seconds=1), SYSTEM)

    # 2. At the deadline it expires; the van is named and not asked again.
    assert incident.expire_offer(EXPIRES, SYSTEM) == "V-1"
    assert fields(last_event(incident)) == {"van_id": "V-1", "actor": SYSTEM}
    assert (incident.status, incident.van_id, incident.offer_expires_at) == (S.REPORTED, None, None)
    assert incident.declined_van_ids == ["V-1"]
    rebuilt(incident)


def test_a_late_van_is_flagged_once() -> None:
    # 1. Not flagged while only offered, nor for another van.
    incident = incident_in(S.OFFERED)
    assert incident.flag_overdue("V-1", 5.0, SYSTEM) is False
    incident.accept("V-1", 10.0, crew())
    assert incident.flag_overdue("V-2", 5.0, SYSTEM) is False
    assert recorded(incident)[-1] == "Accepted"

    # 2. Accepted and late: flagged, the minutes rounded to one place.
    assert incident.flag_overdue("V-1", 5.04, SYSTEM) is True
    assert recorded(incident)[-1] == "ArrivalOverdue"
    assert fields(last_event(incident)) == {"van_id": "V-1", "overdue_min": 5.0, "actor": SYSTEM}

    # 3. Still late, now en route: not flagged again for the same acceptance.
    incident.depart("V-1", crew())
    assert incident.flag_overdue("V-1", 9.0, SYSTEM) is False
    assert recorded(incident)[-2:] == ["ArrivalOverdue", "Departed"]

    # 4. Arrived: no longer applicable.
    incident.arrive("V-1", crew())
    assert incident.flag_overdue("V-1", 12.0, SYSTEM) is False
    rebuilt(incident)


@pytest.mark.parametrize(
    ("status", "van_to_release"),
    [
        (S.REPORTED, None),
        (S.QUEUED, None),
        (S.OFFERED, "V-1"),
        (S.ACCEPTED, "V-1"),
        (S.EN_ROUTE, "V-1"),
        (S.ON_SCENE, "V-1"),
    ],
)
def test_cancelling_names_the_van_to_release(
    status: IncidentStatus, van_to_release: str | None
) -> None:
    incident = incident_in(status)
    assert incident.cancel("caller fixed it", OPERATOR) == van_to_release
    assert fields(last_event(incident)) == {"reason": "caller fixed it", "actor": OPERATOR}
    assert incident.status is S.CANCELLED
    assert (incident.cancel_reason, incident.offer_expires_at) == ("caller fixed it", None)
    assert not incident.is_open
    rebuilt(incident)


def test_a_crew_step_by_another_van_is_forbidden_whatever_the_status() -> None:
    for status in (S.OFFERED, S.ON_SCENE, S.CLOSED):
        incident = incident_in(status)
        with refused(incident, Forbidden, "this incident is not with van V-9"):
            incident.accept("V-9", 10.0, crew("V-9"))
        with refused(incident, Forbidden, "this incident is not with van None"):
            incident.arrive(None, crew())  # type: ignore[arg-type]


@pytest.mark.parametrize("status", list(S))
def test_every_status_rebuilds_from_its_events(status: IncidentStatus) -> None:
    incident = incident_in(status)
    assert rebuilt(incident).as_public() == incident.as_public()


ILLEGAL = [
    pytest.param(command, status, id=f"{command}-from-{status.value}")
    for command in COMMANDS
    for status in S
    if status not in ALLOWED[command]
]


@pytest.mark.parametrize(("command", "status"), ILLEGAL)
def test_a_step_from_a_status_it_does_not_fit_is_refused(
    command: str, status: IncidentStatus
) -> None:
    incident = incident_in(status)
    if command in CREW_STEPS and incident.van_id is None:
        # No van holds it, so no crew may act on it: the van check comes first.
        expected: type[Exception] = Forbidden
        message = "this incident is not with van V-1"
    elif status in (S.CLOSED, S.CANCELLED):
        expected = Conflict
        message = f"incident is {status.value} and can no longer change"
    else:
        expected = Conflict
        allowed = ", ".join(sorted(s.value for s in ALLOWED[command]))
        step = STEP_WORDS.get(command, command)
        message = f"cannot {step} an incident that is {status.value} (allowed from: {allowed})"
    with refused(incident, expected, message) as error:
        COMMANDS[command](incident)
    assert str(error.value) == message
    if isinstance(error.value, Conflict):
        assert error.value.state == incident.as_public()
