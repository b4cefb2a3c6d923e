"""The follow-up call after a repair: due the next day, retried when the customer is not reached,
and a low score opens a complaint that escalates when not answered in time.

The application's clock is moved by hand, so "the next day" takes no time.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rescue.bootstrap import Rescue
from rescue.domain.errors import Conflict
from rescue.services.aftersales import AfterSales
from tests.builders import OPERATOR, FakeClock, line_network, load, open_app, served
from tests.record_builders import call, worked

DELAY_H, RETRY_H, ANSWER_H = 24.0, 2.0, 8.0
HOUR = 3600.0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(store_url: str, clock: FakeClock) -> Iterator[Rescue]:
    with open_app(
        store_url,
        clock,
        followup_delay_h=DELAY_H,
        followup_retry_h=RETRY_H,
        complaint_answer_h=ANSWER_H,
    ) as rescue:
        load(rescue, *line_network(2))
        yield rescue


@pytest.fixture
def desk(app: Rescue) -> AfterSales:
    return app.aftersales


def due_ids(desk: AfterSales) -> list[str]:
    return [item["incident_id"] for item in desk.worklist()]


def test_the_follow_up_life_up_to_an_escalated_complaint(
    app: Rescue, desk: AfterSales, clock: FakeClock
) -> None:
    # 1. Completion schedules the call for the next day: not on today's worklist.
    incident_id = worked(app, call("PALADIN", odometer_km=1_000))
    assert due_ids(desk) == []
    followup = desk.followup(incident_id, with_caller=False)
    assert followup["status"] == "due"
    assert [e["type"] for e in followup["events"]] == ["Scheduled"]

    # 2. A day later it is due, with the caller to phone and the maintenance reminders.
    clock.advance(DELAY_H * HOUR)
    (item,) = desk.worklist()
    assert item["incident_id"] == incident_id
    assert item["caller"] == {"name": "张三丰", "phone": "13912345678"}
    assert [(r["at_km"], r["km_to_go"]) for r in item["reminders"]] == [(1500, 500), (5000, 4000)]

    # 3. Nobody answers: the call leaves the list and comes back after the retry delay.
    desk.record_call(incident_id, {"reached": False, "comments": "no answer"}, OPERATOR.actor)
    assert due_ids(desk) == []
    clock.advance(RETRY_H * HOUR - 60)
    assert due_ids(desk) == []
    clock.advance(60)
    assert due_ids(desk) == [incident_id]

    # 4. Reached on the retry, the customer gives 2 out of 5: a complaint is opened.
    answer = desk.record_call(
        incident_id,
        {"reached": True, "satisfaction": 2, "comments": "van came late, rude crew"},
        OPERATOR.actor,
    )
    assert answer.body["status"] == "done"
    assert answer.body["attempts"] == 2
    assert answer.body["complaint"]["origin"] == "low_score"
    assert due_ids(desk) == []
    assert [c["incident_id"] for c in desk.complaints()] == [incident_id]
    types = [e["type"] for e in desk.followup(incident_id, with_caller=False)["events"]]
    assert types == ["Scheduled", "NotReached", "Reached"]

    # 5. Not answered in time, it escalates, once.
    clock.advance(ANSWER_H * HOUR - 60)
    assert desk.escalate_overdue() == 0
    clock.advance(120)
    assert desk.escalate_overdue() == 1
    assert desk.escalate_overdue() == 0
    complaint = desk.complaint(incident_id)
    assert complaint["escalated"] is True
    assert [e["type"] for e in complaint["events"]] == ["Opened", "Escalated"]
    assert complaint["events"][1]["actor"]["role"] == "system"

    # 6. Answered, then closed; a closed complaint is off the list; closing again is refused.
    desk.answer_complaint(incident_id, "apologised; crew retrained", OPERATOR.actor)
    assert [c["status"] for c in desk.complaints()] == ["answered"]
    assert desk.complaints("open") == []
    desk.close_complaint(incident_id, "customer accepted", OPERATOR.actor)
    assert desk.complaints() == []
    with pytest.raises(Conflict):
        desk.close_complaint(incident_id, None, OPERATOR.actor)
    assert [e["type"] for e in desk.complaint(incident_id)["events"]] == [
        "Opened",
        "Escalated",
        "Answered",
        "Closed",
    ]


def test_an_answered_complaint_does_not_escalate(
    app: Rescue, desk: AfterSales, clock: FakeClock
) -> None:
    # 1. A satisfied customer (4/5) who still complains explicitly: a complaint is opened.
    incident_id = worked(app, call("D22"))
    clock.advance(DELAY_H * HOUR)
    reply = desk.record_call(
        incident_id,
        {"reached": True, "satisfaction": 4, "complaint": True, "complaint_text": "bill too high"},
        OPERATOR.actor,
    )
    assert reply.body["complaint"]["origin"] == "explicit"
    assert reply.body["complaint"]["text"] == "bill too high"
    # 2. Answered within the time, it does not escalate later.
    desk.answer_complaint(incident_id, "explained the parts list", OPERATOR.actor)
    clock.advance(ANSWER_H * HOUR * 3)
    assert desk.escalate_overdue() == 0
    assert desk.complaint(incident_id)["escalated"] is False


def test_a_good_score_closes_the_call_without_a_complaint(
    app: Rescue, desk: AfterSales, clock: FakeClock
) -> None:
    # 1. Reached with 5/5: the call is done, nothing is opened.
    incident_id = worked(app, call("D22", odometer_km=3_000))
    clock.advance(DELAY_H * HOUR)
    reply = desk.record_call(incident_id, {"reached": True, "satisfaction": 5}, OPERATOR.actor)
    assert "complaint" not in reply.body
    assert desk.complaints() == []
    # 2. The call cannot be recorded twice; a D22 past its only free visit has no reminder.
    with pytest.raises(Conflict):
        desk.record_call(incident_id, {"reached": False}, OPERATOR.actor)
    assert desk.followup(incident_id, with_caller=False)["reminders"] == []


def test_the_worklist_over_http(store_url: str) -> None:
    clock = FakeClock()
    with served(store_url, clock, followup_delay_h=DELAY_H) as world:
        # 1. A completed incident; its call is due a day later.
        incident_id = worked(world.app, call("PALADIN"))
        url = f"/api/incidents/{incident_id}/followup"
        later = clock.advance(DELAY_H * HOUR).isoformat()
        # 2. The operator's worklist; a crew or an auditor may not read it.
        listed = world.get("/api/followups", "operator", params={"due_before": later})
        assert [i["incident_id"] for i in listed.json()] == [incident_id]
        assert world.get("/api/followups", "crew1").status_code == 403
        assert world.get("/api/followups", "auditor").status_code == 403
        # 3. A reached call needs a score; a score of 1 opens a complaint.
        assert world.post(f"{url}/calls", "operator", json={"reached": True}).status_code == 422
        low = world.post(f"{url}/calls", "operator", json={"reached": True, "satisfaction": 1})
        assert low.status_code == 200, low.text
        assert low.json()["complaint"]["status"] == "open"
        # 4. Auditors see the complaint; the operator answers and closes it.
        shown = world.get(f"/api/incidents/{incident_id}/complaint", "auditor")
        assert shown.json()["origin"] == "low_score"
        complaint_url = f"/api/incidents/{incident_id}/complaint"
        answered = world.post(f"{complaint_url}/answer", "operator", json={"text": "sorry"})
        assert answered.json()["status"] == "answered"
        closed = world.post(f"{complaint_url}/close", "operator")
        assert closed.json()["status"] == "closed"
