"""Offers move on by themselves: a decline or an expiry offers the next nearest van,
a freed van takes the most urgent queued call, and an operator's override is on record.

The networks are small lines of stations going north from Zhengzhou, so the
nearest van is V1, then V2, then V3.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rescue.bootstrap import Rescue
from rescue.domain.errors import Conflict, Invalid
from rescue.domain.vocabulary import VanStatus
from tests.builders import (
    OPERATOR,
    FakeClock,
    crew,
    event_types,
    line_network,
    load,
    notification_count,
    offered_events,
    open_app,
    report,
    reported,
    station,
    van,
    work_to_completion,
)

OFFER_TIMEOUT_S = 60.0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(store_url: str, clock: FakeClock) -> Iterator[Rescue]:
    with open_app(store_url, clock, offer_timeout_s=OFFER_TIMEOUT_S) as rescue:
        yield rescue


@pytest.fixture
def three_vans(app: Rescue) -> Rescue:
    load(app, *line_network(3))
    return app


@pytest.fixture
def one_tow_van(app: Rescue) -> Rescue:
    """Two stations; the only tow truck is T1 at S1, S2 takes towed vehicles."""
    load(
        app,
        [station("S1", 34.75, 113.62), station("S2", 34.80, 113.62)],
        [van("T1", "S1", ["tow"])],
    )
    return app


def notifications_since(app: Rescue, position: int) -> list[str]:
    """The topics' class names of everything stored after `position`, in log order."""
    notes = app.store.recorder.select_notifications(
        start=position, limit=10**6, inclusive_of_start=False
    )
    return [n.topic.split(":")[-1] for n in notes]


def last_position(app: Rescue) -> int:
    return app.store.recorder.max_notification_id() or 0


# -- decline ---------------------------------------------------------------------------


def test_decline_offers_the_next_nearest_van_in_the_same_command(three_vans: Rescue) -> None:
    app = three_vans
    # 1. A call near S1: the operator sees V1, V2, V3 in that order and dispatches.
    reply = app.dispatch.report_incident(report(), OPERATOR.actor)
    incident_id = reply.body["incident_id"]
    assert [r["van_id"] for r in reply.body["recommendations"]] == ["V1", "V2", "V3"]
    assert app.dispatch.dispatch(incident_id, OPERATOR.actor).body["van_id"] == "V1"
    # 2. V1's crew declines.
    before = last_position(app)
    answer = app.steps.take(
        incident_id, "decline", {"reason": "flat battery on the van"}, crew("V1")
    )
    # 3. The decline's own answer already shows the job offered to V2 ...
    assert answer.body["status"] == "offered"
    assert answer.body["van_id"] == "V2"
    assert answer.body["declined_van_ids"] == ["V1"]
    # 4. ... because one write stored all of it: V1 freed, declined, offered to V2, V2 held.
    assert sorted(notifications_since(app, before)) == sorted(
        ["Van.Released", "Incident.Declined", "Incident.Offered", "Van.Offered"]
    )
    # 5. History: Declined, then Offered to the second candidate, by the system.
    assert event_types(app, incident_id)[-2:] == ["Declined", "Offered"]
    reoffer = offered_events(app, incident_id)[-1]
    assert reoffer["data"]["van_id"] == "V2"
    assert reoffer["data"]["decision"]["mode"] == "reoffer"
    assert reoffer["data"]["decision"]["excluded_van_ids"] == ["V1"]
    assert reoffer["actor"]["role"] == "system"
    # 6. The vans as stored agree: V1 free again, V2 holds the offer.
    assert app.runner.van("V1").status is VanStatus.AVAILABLE
    assert app.runner.van("V2").incident_id == incident_id


def test_decline_by_every_capable_van_queues_the_call(three_vans: Rescue) -> None:
    app = three_vans
    # 1. Report and dispatch; V1, V2 and V3 decline one after the other.
    incident_id = reported(app, report())
    app.dispatch.dispatch(incident_id, OPERATOR.actor)
    for van_id in ("V1", "V2"):
        answer = app.steps.take(incident_id, "decline", {"reason": "no"}, crew(van_id))
        assert answer.body["status"] == "offered"
    answer = app.steps.take(incident_id, "decline", {"reason": "no"}, crew("V3"))
    # 2. Nobody is left who has not declined: the call waits in the queue, every van free.
    assert answer.body["status"] == "queued"
    assert answer.body["van_id"] is None
    assert all(app.runner.van(v).is_free for v in ("V1", "V2", "V3"))


# -- expiry ----------------------------------------------------------------------------


def test_an_unanswered_offer_moves_on_to_the_next_nearest_van(
    three_vans: Rescue, clock: FakeClock
) -> None:
    app = three_vans
    # 1. Report and dispatch: V1 is offered the job.
    incident_id = reported(app, report())
    assert app.dispatch.dispatch(incident_id, OPERATOR.actor).body["van_id"] == "V1"
    # 2. Just before the timeout nothing moves.
    clock.advance(OFFER_TIMEOUT_S - 1)
    assert app.dispatch.expire_due_offers() == 0
    assert app.queries.incident(incident_id).van_id == "V1"
    # 3. Past the timeout the offer expires and goes to V2.
    clock.advance(2)
    assert app.dispatch.expire_due_offers() == 1
    incident = app.queries.incident(incident_id)
    assert incident.status == "offered"
    assert incident.van_id == "V2"
    assert incident.declined_van_ids == ["V1"]
    # 4. The expired van is free; V2 holds the job with a fresh deadline.
    assert app.runner.van("V1").status is VanStatus.AVAILABLE
    assert app.runner.van("V2").incident_id == incident_id
    assert incident.offer_expires_at is not None
    assert (incident.offer_expires_at - clock()).total_seconds() == OFFER_TIMEOUT_S
    # 5. History: OfferExpired, then Offered (a re-offer) to V2.
    assert event_types(app, incident_id)[-2:] == ["OfferExpired", "Offered"]
    assert offered_events(app, incident_id)[-1]["data"]["decision"]["mode"] == "reoffer"
    # 6. The accepted job does not expire however long it then takes.
    app.steps.take(incident_id, "accept", {"eta_min": 15.0}, crew("V2"))
    clock.advance(10 * OFFER_TIMEOUT_S)
    assert app.dispatch.expire_due_offers() == 0
    assert app.queries.incident(incident_id).status == "accepted"


# -- the queue -------------------------------------------------------------------------


def test_a_queued_call_is_offered_to_the_van_that_frees_up(one_tow_van: Rescue) -> None:
    app = one_tow_van
    # 1. Two accidents; the first takes the only tow truck, the second waits.
    first = reported(app, report(category="accident", n=1))
    second = reported(app, report(category="accident", n=2))
    assert app.dispatch.dispatch(first, OPERATOR.actor).body["van_id"] == "T1"
    queued = app.dispatch.dispatch(second, OPERATOR.actor).body
    assert queued["status"] == "queued"
    assert queued["van_id"] is None
    assert event_types(app, second)[-1] == "Queued"
    # 2. T1 works the first accident: accept, depart, arrive, tow to S2, complete.
    work_to_completion(app, first, "T1", tow_station_id="S2")
    assert app.queries.incident(first).status == "completed"
    assert app.queries.incident(first).resolution == {"outcome": "towed", "tow_station_id": "S2"}
    # 3. The freed truck is offered the waiting accident straight away.
    waiting = app.queries.incident(second)
    assert waiting.status == "offered"
    assert waiting.van_id == "T1"
    assert app.runner.van("T1").incident_id == second
    assert offered_events(app, second)[-1]["data"]["decision"]["mode"] == "queue"


def test_queued_calls_go_out_most_urgent_first_then_oldest(one_tow_van: Rescue) -> None:
    app = one_tow_van
    # 1. An accident holds the only tow truck.
    blocker = reported(app, report(category="accident", n=0))
    app.dispatch.dispatch(blocker, OPERATOR.actor)
    # 2. Four calls queue in this order: engine failure (3), accident (2),
    #    accident with injury (1), accident (2).
    engine = reported(app, report(category="engine_failure", n=1))
    older = reported(app, report(category="accident", n=2))
    injury = reported(app, report(category="accident", n=3, injury=True))
    newer = reported(app, report(category="accident", n=4))
    for incident_id in (engine, older, injury, newer):
        assert app.dispatch.dispatch(incident_id, OPERATOR.actor).body["status"] == "queued"
    assert [app.queries.incident(i).priority for i in (engine, older, injury, newer)] == [
        3,
        2,
        1,
        2,
    ]
    # 3. Each time the truck finishes, it is offered the next call: injury first,
    #    then the older accident, then the newer one, the engine failure last.
    served = []
    holder = blocker
    for _ in range(4):
        work_to_completion(app, holder, "T1", tow_station_id="S2")
        holder = app.runner.van("T1").incident_id or ""
        assert app.queries.incident(holder).status == "offered"
        served.append(holder)
    assert served == [injury, older, newer, engine]


# -- override --------------------------------------------------------------------------


def test_an_override_is_recorded_with_its_reason(three_vans: Rescue) -> None:
    app = three_vans
    # 1. A call near S1; the operator picks V3 instead of the nearest V1.
    incident_id = reported(app, report())
    answer = app.dispatch.dispatch(
        incident_id, OPERATOR.actor, van_id="V3", reason="customer asked for the S3 dealer"
    )
    assert answer.body["status"] == "offered"
    assert answer.body["van_id"] == "V3"
    # 2. The Offered event says it was an override, why, and what was recommended.
    decision = offered_events(app, incident_id)[-1]["data"]["decision"]
    assert decision["mode"] == "override"
    assert decision["reason"] == "customer asked for the S3 dealer"
    assert decision["chosen_van_id"] == "V3"
    assert [c["van_id"] for c in decision["candidates"]] == ["V1", "V2", "V3"]
    # 3. Overriding again moves the offer to V2 and frees V3.
    app.dispatch.dispatch(incident_id, OPERATOR.actor, van_id="V2", reason="V3 is stuck in traffic")
    assert app.queries.incident(incident_id).van_id == "V2"
    assert app.runner.van("V3").is_free
    assert app.runner.van("V2").incident_id == incident_id
    assert offered_events(app, incident_id)[-1]["data"]["withdrawn_from"] == "V3"


def test_a_van_freed_by_an_override_takes_the_queued_call_at_once(app: Rescue) -> None:
    # 1. V1 carries batteries and a tow, V2 batteries only. A flat battery takes V1 (nearest);
    #    then an accident needs a tow, which only the busy V1 has: it waits.
    load(
        app,
        [station("S1", 34.75, 113.62), station("S2", 34.80, 113.62)],
        [van("V1", "S1", ["battery", "tow"]), van("V2", "S2", ["battery"])],
    )
    battery = reported(app, report(category="battery", n=1))
    accident = reported(app, report(category="accident", n=2))
    assert app.dispatch.dispatch(battery, OPERATOR.actor).body["van_id"] == "V1"
    assert app.dispatch.dispatch(accident, OPERATOR.actor).body["status"] == "queued"
    # 2. The operator sends V2 to the battery instead, which takes the offer from V1.
    app.dispatch.dispatch(battery, OPERATOR.actor, van_id="V2", reason="keep the tow truck free")
    # 3. In the same request, not at the next timer tick, the freed V1 is offered the accident.
    assert app.queries.incident(accident).status == "offered"
    assert app.queries.incident(accident).van_id == "V1"
    assert app.runner.van("V1").incident_id == accident
    assert offered_events(app, accident)[-1]["data"]["decision"]["mode"] == "queue"


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_an_override_without_a_reason_is_refused(three_vans: Rescue, reason: str | None) -> None:
    app = three_vans
    # 1. A call, then an override naming a van but giving no reason.
    incident_id = reported(app, report())
    before = notification_count(app)
    with pytest.raises(Invalid) as refused:
        app.dispatch.dispatch(incident_id, OPERATOR.actor, van_id="V3", reason=reason)
    # 2. The error names the missing field; nothing was recorded, V3 is still free.
    assert refused.value.field == "reason"
    assert notification_count(app) == before
    assert app.runner.van("V3").is_free
    assert app.queries.incident(incident_id).status == "reported"


def test_an_override_to_a_van_without_the_capability_is_a_conflict(app: Rescue) -> None:
    # 1. V1 only carries batteries; the call is an accident that needs a tow.
    load(app, *line_network(1, capabilities=["battery"]))
    incident_id = reported(app, report(category="accident"))
    # 2. The override is refused and records nothing.
    before = notification_count(app)
    with pytest.raises(Conflict):
        app.dispatch.dispatch(incident_id, OPERATOR.actor, van_id="V1", reason="closest truck")
    assert notification_count(app) == before
    assert app.queries.incident(incident_id).status == "reported"


def test_a_van_going_off_duty_keeps_what_it_holds_and_gets_nothing_new(
    three_vans: Rescue,
) -> None:
    app = three_vans
    incident_id = reported(app, report())
    assert app.dispatch.dispatch(incident_id, OPERATOR.actor).body["van_id"] == "V1"
    # 1. Holding the offer, V1 is taken off duty (its station goes out of service).
    assert app.network.change_shift("V1", False, OPERATOR.actor).body["status"] == "offered"
    # 2. The offer is still V1's to answer; its crew accepts and finishes the job.
    work_to_completion(app, incident_id, "V1")
    # 3. Freed, V1 is off duty, not free: the next call nearest to it goes to V2.
    assert app.runner.van("V1").status is VanStatus.OFF_DUTY
    second = reported(app, report(n=2))
    assert app.dispatch.dispatch(second, OPERATOR.actor).body["van_id"] == "V2"
    # 4. Back on duty, it is offered calls again.
    app.network.change_shift("V1", True, crew("V1").actor)
    third = reported(app, report(n=3))
    assert app.dispatch.dispatch(third, OPERATOR.actor).body["van_id"] == "V1"
