"""`Complaint` on its own: opened, escalated once if not answered in time, answered, closed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from rescue.domain.actors import SYSTEM_ACTOR, Actor
from rescue.domain.errors import Conflict
from rescue.domain.followups import Complaint, complaint_uuid
from tests.unit.domain.checks import fields, last_event, rebuilt, recorded, refused

OPERATOR = Actor(role="operator", name="op-1").as_dict()
SYSTEM = SYSTEM_ACTOR.as_dict()
ANSWER_DUE = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


def opened() -> Complaint:
    return Complaint(
        incident_id="I-1",
        origin="low_score",
        satisfaction=2,
        text="waited two hours",
        answer_due_at=ANSWER_DUE,
        actor=OPERATOR,
    )


def answered() -> Complaint:
    complaint = opened()
    complaint.answer_with("apologised; crew retrained", OPERATOR)
    return complaint


def closed() -> Complaint:
    complaint = answered()
    complaint.close("customer accepted", OPERATOR)
    return complaint


def test_a_complaint_not_answered_in_time_is_escalated_then_answered_and_closed() -> None:
    # 1. Opened after a low score, under an id derived from the incident.
    complaint = opened()
    assert complaint.id == complaint_uuid("I-1")
    assert fields(last_event(complaint)) == {
        "incident_id": "I-1",
        "origin": "low_score",
        "satisfaction": 2,
        "text": "waited two hours",
        "answer_due_at": ANSWER_DUE,
        "actor": OPERATOR,
    }
    assert (complaint.status, complaint.escalated) == ("open", False)

    # 2. Before its answer time, the timer leaves it alone.
    assert complaint.escalate(ANSWER_DUE - timedelta(seconds=1), SYSTEM) is False
    assert recorded(complaint) == ["Opened"]

    # 3. 90.5 minutes past it, the timer escalates it, saying by how much.
    assert complaint.escalate(ANSWER_DUE + timedelta(minutes=90, seconds=30), SYSTEM) is True
    assert fields(last_event(complaint)) == {"overdue_min": 90.5, "actor": SYSTEM}
    assert complaint.escalated

    # 4. Escalated once only.
    assert complaint.escalate(ANSWER_DUE + timedelta(days=1), SYSTEM) is False

    # 5. Answered, then closed.
    complaint.answer_with("apologised; crew retrained", OPERATOR)
    assert fields(last_event(complaint)) == {
        "text": "apologised; crew retrained",
        "actor": OPERATOR,
    }
    assert (complaint.status, complaint.answer) == ("answered", "apologised; crew retrained")
    complaint.close("customer accepted", OPERATOR)
    assert fields(last_event(complaint)) == {"resolution": "customer accepted", "actor": OPERATOR}
    assert (complaint.status, complaint.resolution) == ("closed", "customer accepted")

    # 6. The record, and the same complaint rebuilt from its events.
    assert recorded(complaint) == ["Opened", "Escalated", "Answered", "Closed"]
    public = complaint.as_public()
    assert (public["complaint_id"], public["status"], public["escalated"], public["version"]) == (
        str(complaint.id),
        "closed",
        True,
        4,
    )
    assert rebuilt(complaint).as_public() == public


def test_a_complaint_is_due_for_escalation_at_its_answer_time() -> None:
    complaint = opened()
    assert complaint.escalate(ANSWER_DUE, SYSTEM) is True
    assert last_event(complaint).overdue_min == 0.0


@pytest.mark.parametrize("complaint", [answered, closed], ids=["answered", "closed"])
def test_a_complaint_no_longer_open_is_not_escalated(complaint: Callable[[], Complaint]) -> None:
    settled = complaint()
    versions = settled.version
    assert settled.escalate(ANSWER_DUE + timedelta(days=3), SYSTEM) is False
    assert settled.version == versions
    assert not settled.escalated


@pytest.mark.parametrize(
    ("complaint", "says"),
    [
        pytest.param(answered, "the complaint is answered, not open", id="answered"),
        pytest.param(closed, "the complaint is closed, not open", id="closed"),
    ],
)
def test_only_an_open_complaint_can_be_answered(
    complaint: Callable[[], Complaint], says: str
) -> None:
    done = complaint()
    with refused(done, Conflict, says) as error:
        done.answer_with("a second answer", OPERATOR)
    assert isinstance(error.value, Conflict)
    assert error.value.state == done.as_public()


@pytest.mark.parametrize(
    ("complaint", "says"),
    [
        pytest.param(opened, "the complaint is open: answer it before closing", id="open"),
        pytest.param(closed, "the complaint is closed", id="closed"),
    ],
)
def test_only_an_answered_complaint_can_be_closed(
    complaint: Callable[[], Complaint], says: str
) -> None:
    unanswered = complaint()
    with refused(unanswered, Conflict, says):
        unanswered.close(None, OPERATOR)


@pytest.mark.parametrize(
    "complaint", [opened, answered, closed], ids=["open", "answered", "closed"]
)
def test_every_status_rebuilds_from_its_events(complaint: Callable[[], Complaint]) -> None:
    original = complaint()
    assert rebuilt(original).as_public() == original.as_public()
