"""`Van` on its own: on and off duty, and one incident at a time from offer to release."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from rescue.domain.actors import SYSTEM_ACTOR, Actor
from rescue.domain.errors import Conflict
from rescue.domain.ids import van_uuid
from rescue.domain.vans import Van
from rescue.domain.vocabulary import VanStatus
from tests.unit.domain.checks import fields, last_event, rebuilt, recorded, refused

ADMIN = Actor(role="admin", name="admin-1").as_dict()
CREW = Actor(role="crew", name="crew-V-1", van_id="V-1").as_dict()
SYSTEM = SYSTEM_ACTOR.as_dict()


def registered() -> Van:
    return Van(
        van_id="V-1",
        call_sign="Zhengzhou 1",
        station_id="S-1",
        capabilities=["tow", "battery"],
        actor=ADMIN,
    )


def on_duty() -> Van:
    van = registered()
    van.change_shift(True, CREW)
    return van


def holding(engaged: bool) -> Van:
    van = on_duty()
    van.offer("I-1", SYSTEM)
    if engaged:
        van.engage("I-1", CREW)
    return van


def test_a_van_takes_one_incident_from_offer_to_release() -> None:
    # 1. Registered off duty, under an id derived from its call number.
    van = registered()
    assert van.id == van_uuid("V-1")
    assert van.status is VanStatus.OFF_DUTY
    assert not van.is_free
    assert fields(last_event(van)) == {
        "van_id": "V-1",
        "call_sign": "Zhengzhou 1",
        "station_id": "S-1",
        "capabilities": ["tow", "battery"],
        "actor": ADMIN,
    }

    # 2. The crew comes on duty: the van is free.
    van.change_shift(True, CREW)
    assert fields(last_event(van)) == {"on_duty": True, "actor": CREW}
    assert van.status is VanStatus.AVAILABLE
    assert van.is_free

    # 3. Dispatch offers it an incident.
    van.offer("I-1", SYSTEM)
    assert fields(last_event(van)) == {"incident_id": "I-1", "actor": SYSTEM}
    assert (van.status, van.incident_id) == (VanStatus.OFFERED, "I-1")

    # 4. The crew accepts: the van is engaged on it.
    van.engage("I-1", CREW)
    assert fields(last_event(van)) == {"incident_id": "I-1", "actor": CREW}
    assert van.status is VanStatus.BUSY

    # 5. The job is done: the van is released and free again.
    van.release("I-1", "completed", CREW)
    assert fields(last_event(van)) == {"incident_id": "I-1", "reason": "completed", "actor": CREW}
    assert (van.status, van.incident_id, van.engaged) == (VanStatus.AVAILABLE, None, False)

    # 6. The same shift twice is one event.
    van.change_shift(True, CREW)
    assert recorded(van) == ["Registered", "ShiftChanged", "Offered", "Engaged", "Released"]
    assert van.as_public() == {
        "van_id": "V-1",
        "call_sign": "Zhengzhou 1",
        "station_id": "S-1",
        "capabilities": ["tow", "battery"],
        "on_duty": True,
        "status": "available",
        "incident_id": None,
    }
    rebuilt(van)


def test_the_same_call_number_gives_the_same_id() -> None:
    assert registered().id == registered().id != Van.create_id("V-2")


def test_an_offer_not_taken_is_released_without_being_engaged() -> None:
    van = holding(engaged=False)
    van.release("I-1", "declined: no tow bar", CREW)
    assert recorded(van)[-2:] == ["Offered", "Released"]
    assert van.is_free
    rebuilt(van)


def test_going_off_duty_mid_job_keeps_the_job_and_then_the_van_is_off_duty() -> None:
    # 1. Busy on I-1 when its station goes out of service.
    van = holding(engaged=True)
    van.change_shift(False, ADMIN)
    assert (van.on_duty, van.status, van.incident_id) == (False, VanStatus.BUSY, "I-1")

    # 2. The job is still the van's to finish; afterwards it is off duty, not free.
    van.release("I-1", "completed", CREW)
    assert van.status is VanStatus.OFF_DUTY
    assert not van.is_free
    rebuilt(van)


@pytest.mark.parametrize(
    ("van", "status"),
    [
        pytest.param(registered, "off_duty", id="off-duty"),
        pytest.param(lambda: holding(engaged=False), "offered", id="offered"),
        pytest.param(lambda: holding(engaged=True), "busy", id="busy"),
    ],
)
def test_only_a_free_van_can_be_offered_an_incident(van: Callable[[], Van], status: str) -> None:
    taken = van()
    with refused(taken, Conflict, f"van V-1 is {status}, not available") as error:
        taken.offer("I-2", SYSTEM)
    assert isinstance(error.value, Conflict)
    assert error.value.state == taken.as_public()


@pytest.mark.parametrize(
    "van",
    [
        pytest.param(on_duty, id="holding-nothing"),
        pytest.param(lambda: holding(engaged=False), id="offered-another"),
        pytest.param(lambda: holding(engaged=True), id="busy-with-another"),
    ],
)
def test_a_van_engages_on_or_is_released_from_only_the_incident_it_holds(
    van: Callable[[], Van],
) -> None:
    other = van()
    with refused(other, Conflict, "van V-1 does not hold incident I-2"):
        other.engage("I-2", CREW)
    with refused(other, Conflict, "van V-1 does not hold incident I-2"):
        other.release("I-2", "completed", CREW)


def test_an_sos_and_a_refused_tracker_report_are_recorded_without_changing_the_van() -> None:
    # 1. A busy van's tracker sends an SOS, then a report the server will not use.
    van = holding(engaged=True)
    status = van.status
    at = datetime(2026, 1, 5, 8, 30, tzinfo=UTC)
    van.raise_sos("sos", 34.7, 113.6, at, CREW)
    van.refuse_fix("too_old", "the fix is 9 days old", {"timestamp": "1767000000"}, CREW)
    # 2. Both are on the van's record, with what was said; the van's state is as it was.
    assert recorded(van)[-2:] == ["SosRaised", "FixRefused"]
    assert fields(last_event(van)) == {
        "kind": "too_old",
        "reason": "the fix is 9 days old",
        "received": {"timestamp": "1767000000"},
        "actor": CREW,
    }
    assert van.status is status
    assert rebuilt(van).status is status


def test_a_refusal_names_one_of_the_known_kinds() -> None:
    van = on_duty()
    with refused(van, ValueError, "unknown refusal kind 'bad'"):
        van.refuse_fix("bad", "why", {}, CREW)
