"""`FollowUp` on its own: the call after a repair, retried until the customer is reached."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rescue.domain.actors import Actor
from rescue.domain.errors import Conflict
from rescue.domain.followups import FollowUp, followup_uuid, reminders_for
from rescue.domain.warranty import WarrantyPolicy
from tests.unit.domain.checks import fields, last_event, rebuilt, recorded, refused

OPERATOR = Actor(role="operator", name="op-1").as_dict()
CREW = Actor(role="crew", name="crew-V-1", van_id="V-1").as_dict()
DUE = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
VEHICLE = {"vin": "LJNTGU2S0JN000001", "plate": "豫A12345", "model_series": "PALADIN"}
REMINDERS = [{"at_km": 5000, "items": ["check", "oil"], "km_to_go": 800}]
POLICY = WarrantyPolicy.load()


def scheduled() -> FollowUp:
    return FollowUp(incident_id="I-1", due_at=DUE, vehicle=VEHICLE, reminders=REMINDERS, actor=CREW)


def test_a_customer_not_reached_is_called_again_until_reached() -> None:
    # 1. Completion schedules the call, under an id derived from the incident.
    followup = scheduled()
    assert followup.id == followup_uuid("I-1")
    assert fields(last_event(followup)) == {
        "incident_id": "I-1",
        "due_at": DUE,
        "vehicle": VEHICLE,
        "reminders": REMINDERS,
        "actor": CREW,
    }
    assert (followup.status, followup.attempts, followup.outcome) == ("due", 0, None)
    assert not followup.opens_complaint

    # 2. No answer: the first attempt is counted and the call is due again later.
    retry_at = DUE + timedelta(hours=2)
    followup.not_reached("no answer", retry_at, OPERATOR)
    assert fields(last_event(followup)) == {
        "attempt": 1,
        "comments": "no answer",
        "retry_at": retry_at,
        "actor": OPERATOR,
    }
    assert (followup.status, followup.attempts, followup.due_at) == ("due", 1, retry_at)

    # 3. Reached on the second attempt: a satisfied customer, the call is done.
    followup.reached(4, "quick and polite", False, OPERATOR)
    assert fields(last_event(followup)) == {
        "attempt": 2,
        "satisfaction": 4,
        "comments": "quick and polite",
        "complaint": False,
        "actor": OPERATOR,
    }
    assert (followup.status, followup.attempts) == ("done", 2)
    assert followup.outcome == {
        "satisfaction": 4,
        "comments": "quick and polite",
        "complaint": False,
    }
    assert not followup.opens_complaint

    # 4. The record, and the same follow-up rebuilt from its events.
    assert recorded(followup) == ["Scheduled", "NotReached", "Reached"]
    public = followup.as_public()
    assert (public["followup_id"], public["status"], public["due_at"], public["version"]) == (
        str(followup.id),
        "done",
        retry_at.isoformat(),
        3,
    )
    assert rebuilt(followup).as_public() == public


@pytest.mark.parametrize(
    ("satisfaction", "complaint", "opens"),
    [(1, False, True), (2, False, True), (3, False, False), (5, False, False), (5, True, True)],
)
def test_a_low_score_or_an_explicit_complaint_opens_a_complaint(
    satisfaction: int, complaint: bool, opens: bool
) -> None:
    followup = scheduled()
    followup.reached(satisfaction, None, complaint, OPERATOR)
    assert followup.opens_complaint is opens


def test_a_call_already_made_cannot_be_made_again() -> None:
    followup = scheduled()
    followup.reached(5, None, False, OPERATOR)
    with refused(followup, Conflict, "this follow-up call has been made already") as error:
        followup.reached(1, "changed my mind", True, OPERATOR)
    assert isinstance(error.value, Conflict)
    assert error.value.state == followup.as_public()
    with refused(followup, Conflict, "this follow-up call has been made already"):
        followup.not_reached(None, DUE + timedelta(hours=2), OPERATOR)


def test_reminders_list_the_free_maintenance_still_ahead() -> None:
    # 1. A PALADIN at 1,500 km: the visit at 1,500 km is still due, and the one at 5,000 km.
    paladin = {"model_series": "PALADIN", "odometer_km": 1500}
    assert reminders_for(POLICY, paladin) == [
        {"at_km": 1500, "items": ["check", "adjust"], "km_to_go": 0},
        {"at_km": 5000, "items": ["check", "adjust", "oil", "oil_filter"], "km_to_go": 3500},
    ]

    # 2. Past every visit, a series without free maintenance, or a reading the rule refuses:
    #    nothing to remind.
    assert reminders_for(POLICY, {"model_series": "PALADIN", "odometer_km": 42_000}) == []
    assert reminders_for(POLICY, {"model_series": "NV200", "odometer_km": 100}) == []
    assert reminders_for(POLICY, {"model_series": "PALADIN", "odometer_km": -5}) == []
