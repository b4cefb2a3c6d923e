"""`Claim` (and `PaidService`) on their own: drafted from a completed incident's events, then
submitted, answered and settled; or decided by the after-sales section first."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from rescue.domain.actors import SYSTEM_ACTOR, Actor
from rescue.domain.claims import (
    Claim,
    ClaimStatus,
    PaidService,
    claim_uuid,
    paid_service_uuid,
    records_for,
    settled_decision,
)
from rescue.domain.errors import Conflict
from rescue.domain.incidents import Incident
from tests.unit.domain.checks import fields, last_event, rebuilt, recorded, refused

C = ClaimStatus

OPERATOR = Actor(role="operator", name="op-1").as_dict()
AFTER_SALES = Actor(role="admin", name="after-sales section").as_dict()
CREW = Actor(role="crew", name="crew-V-1", van_id="V-1").as_dict()
SYSTEM = SYSTEM_ACTOR.as_dict()
BATTERY = {"part_no": "B-1", "name": "battery", "system": "other", "qty": 1, "original": True}
# Sold some 200 days before the call: well inside every warranty period, whatever today is.
SOLD_ON = (datetime.now(UTC) - timedelta(days=200)).date().isoformat()


def completed_incident(findings: list[str], signed: bool = True) -> Incident:
    """A PALADIN at 42,000 km whose battery was replaced on site; `findings` as the crew found."""
    incident = Incident(
        sealed_caller="sealed",
        vehicle={
            "vin": "LJNTGU2S0JN000001",
            "plate": "豫A12345",
            "model_series": "PALADIN",
            "odometer_km": 42_000,
            "sold_on": SOLD_ON,
        },
        location={"lat": 34.75, "lon": 113.62},
        fault={"category": "battery"},
        safety={},
        priority=3,
        priority_reasons=[],
        capability="battery",
        actor=OPERATOR,
    )
    incident.offer("V-1", "S-1", 4.0, 10.0, datetime(2026, 11, 27, tzinfo=UTC), {}, SYSTEM)
    incident.accept("V-1", 10.0, CREW)
    incident.depart("V-1", CREW)
    incident.arrive("V-1", CREW)
    incident.diagnose("V-1", "dead cell", [BATTERY], findings, CREW)
    incident.resolve("V-1", "repaired_on_site", None, CREW)
    incident.complete("V-1", signed, 4 if signed else None, CREW)
    return incident


def record_of(incident: Incident) -> Claim | PaidService:
    return records_for(str(incident.id), list(incident.pending_events), CREW)


def drafted(findings: list[str] | None = None, signed: bool = True) -> Claim:
    claim = record_of(completed_incident(findings or [], signed))
    assert isinstance(claim, Claim)
    return claim


def awaiting_approval() -> Claim:
    return drafted(["undetermined"])


def decide(claim: Claim, approved: bool) -> None:
    evidence = "maintenance booklet stamped at 40,000 km"
    decision = settled_decision(claim, approved, evidence, "after-sales section")
    claim.decide_approval(approved, evidence, decision, AFTER_SALES)


def test_a_covered_repair_is_claimed_submitted_approved_and_settled() -> None:
    # 1. Completion drafts a claim from the incident's own events.
    incident = completed_incident([])
    claim = record_of(incident)
    assert isinstance(claim, Claim)
    assert claim.id == claim_uuid(str(incident.id))
    assert claim.status is C.DRAFTED
    drafted_event = fields(last_event(claim))
    assert set(drafted_event) == {"incident_id", "decision", "form", "actor"}
    assert (drafted_event["incident_id"], drafted_event["actor"]) == (str(incident.id), CREW)
    assert drafted_event["decision"]["decision"] == "covered"
    assert drafted_event["decision"]["covered_parts"] == ["B-1"]

    # 2. Each line of the form names the event it was read from.
    diagnosed = next(e for e in incident.pending_events if type(e).__name__ == "Diagnosed")
    assert claim.form["cause"] == {
        "value": "dead cell",
        "source": {
            "event": "Incident.Diagnosed",
            "version": diagnosed.originator_version,
            "at": diagnosed.timestamp.isoformat(),
        },
    }
    assert claim.form["crew"]["value"] == {"van_id": "V-1", "name": "crew-V-1"}
    assert claim.form["customer_sign_off"]["value"] == {"customer_signed": True, "satisfaction": 4}

    # 3. Submitted to the maker.
    claim.submit(OPERATOR)
    assert fields(last_event(claim)) == {"actor": OPERATOR}
    assert claim.status is C.SUBMITTED

    # 4. The maker approves it.
    claim.approve("ZN-2026-0042", "battery under warranty", AFTER_SALES)
    assert fields(last_event(claim)) == {
        "reference": "ZN-2026-0042",
        "note": "battery under warranty",
        "actor": AFTER_SALES,
    }
    assert claim.status is C.APPROVED
    assert claim.answer == {
        "approved": True,
        "reference": "ZN-2026-0042",
        "note": "battery under warranty",
    }

    # 5. The maker pays.
    claim.settle("680.00", "PAY-7", AFTER_SALES)
    assert fields(last_event(claim)) == {
        "amount": "680.00",
        "reference": "PAY-7",
        "actor": AFTER_SALES,
    }
    assert claim.status is C.SETTLED
    assert claim.settlement == {"amount": "680.00", "reference": "PAY-7"}

    # 6. The record, and the same claim rebuilt from its events.
    assert recorded(claim) == ["Drafted", "Submitted", "Approved", "Settled"]
    public = claim.as_public()
    assert (public["claim_id"], public["incident_id"]) == (str(claim.id), str(incident.id))
    assert (public["status"], public["version"], public["approval"]) == ("settled", 4, None)
    assert rebuilt(claim).as_public() == public


def test_a_claim_the_maker_rejects_says_why() -> None:
    claim = drafted()
    claim.submit(OPERATOR)
    claim.reject("battery damaged by a short circuit", AFTER_SALES)
    assert fields(last_event(claim)) == {
        "reason": "battery damaged by a short circuit",
        "actor": AFTER_SALES,
    }
    assert claim.status is C.REJECTED
    assert claim.answer == {"approved": False, "reason": "battery damaged by a short circuit"}
    rebuilt(claim)


def test_an_undetermined_cause_waits_for_the_after_sales_approval() -> None:
    # 1. The crew could not establish the cause: the claim waits for a decision.
    claim = awaiting_approval()
    assert claim.status is C.AWAITING_APPROVAL
    assert claim.decision["decision"] == "needs_approval"

    # 2. The after-sales section approves on the owner's maintenance evidence.
    decide(claim, approved=True)
    event = fields(last_event(claim))
    assert (event["approved"], event["evidence"], event["actor"]) == (
        True,
        "maintenance booklet stamped at 40,000 km",
        AFTER_SALES,
    )
    assert event["decision"]["decision"] == "covered"
    assert claim.approval == {
        "approved": True,
        "evidence": "maintenance booklet stamped at 40,000 km",
        "by": "after-sales section",
    }

    # 3. It is now a drafted claim like any covered one, and goes to the maker.
    assert (claim.status, claim.decision["decision"]) == (C.DRAFTED, "covered")
    claim.submit(OPERATOR)
    assert recorded(claim) == ["Drafted", "ApprovalDecided", "Submitted"]
    rebuilt(claim)


def test_an_approval_refused_makes_the_repair_paid_service() -> None:
    claim = awaiting_approval()
    decide(claim, approved=False)
    assert claim.status is C.PAID_SERVICE
    assert claim.decision["decision"] == "not_covered"
    assert claim.decision["covered_parts"] == []
    assert claim.approval is not None and claim.approval["approved"] is False
    rebuilt(claim)


def test_an_excluded_repair_is_marked_paid_service_instead_of_claimed() -> None:
    # 1. The crew found misuse: nothing is covered, so no claim is drafted.
    incident = completed_incident(["misuse"])
    record = record_of(incident)
    assert isinstance(record, PaidService)
    assert record.id == paid_service_uuid(str(incident.id)) != claim_uuid(str(incident.id))

    # 2. The mark carries the decision with its reasons, and the same form a claim would.
    event = fields(last_event(record))
    assert set(event) == {"incident_id", "decision", "form", "actor"}
    assert event["decision"]["decision"] == "not_covered"
    assert [r["rule"] for r in event["decision"]["reasons"]] == ["e"]
    assert record.form["findings"]["value"] == ["misuse"]
    assert record.as_public()["status"] == "paid_service"
    assert recorded(record) == ["Marked"]
    rebuilt(record)


def test_a_retried_completion_drafts_the_same_claim() -> None:
    incident = completed_incident([])
    assert record_of(incident).id == record_of(incident).id


def test_a_claim_without_the_customer_sign_off_cannot_be_submitted() -> None:
    claim = drafted(signed=False)
    with refused(claim, Conflict, "the customer has not signed the repair off") as error:
        claim.submit(OPERATOR)
    assert str(error.value).endswith("a claim needs the sign-off")


@pytest.mark.parametrize(
    ("claim", "says"),
    [
        pytest.param(
            drafted, "only a needs_approval decision can be settled, not covered", id="covered"
        ),
        pytest.param(
            awaiting_approval, "an approval names its approver and its evidence", id="no-evidence"
        ),
    ],
)
def test_an_approval_the_rule_cannot_settle_is_a_conflict(
    claim: Callable[[], Claim], says: str
) -> None:
    pending = claim()
    with refused(pending, Conflict, says) as error:
        evidence = "" if pending.status is C.AWAITING_APPROVAL else "booklet"
        settled_decision(pending, True, evidence, "after-sales section")
    assert isinstance(error.value, Conflict)
    assert error.value.state == pending.as_public()


def claim_in(status: ClaimStatus) -> Claim:
    """A claim brought to `status` by the steps that lead there."""
    claim = awaiting_approval() if status in (C.AWAITING_APPROVAL, C.PAID_SERVICE) else drafted()
    if status is C.PAID_SERVICE:
        decide(claim, approved=False)
    if status in (C.SUBMITTED, C.APPROVED, C.REJECTED, C.SETTLED):
        claim.submit(OPERATOR)
    if status in (C.APPROVED, C.SETTLED):
        claim.approve(None, None, AFTER_SALES)
    if status is C.REJECTED:
        claim.reject("not a warranty fault", AFTER_SALES)
    if status is C.SETTLED:
        claim.settle("100.00", None, AFTER_SALES)
    assert claim.status is status
    return claim


COMMANDS: dict[str, Callable[[Claim], None]] = {
    "decide the approval of": lambda c: c.decide_approval(True, "booklet", c.decision, AFTER_SALES),
    "submit": lambda c: c.submit(OPERATOR),
    "approve": lambda c: c.approve("ZN-1", None, AFTER_SALES),
    "reject": lambda c: c.reject("not a warranty fault", AFTER_SALES),
    "settle": lambda c: c.settle("100.00", None, AFTER_SALES),
}
# Written out rather than read from the code, so that a change to the rules shows up here.
ALLOWED: dict[str, frozenset[ClaimStatus]] = {
    "decide the approval of": frozenset({C.AWAITING_APPROVAL}),
    "submit": frozenset({C.DRAFTED}),
    "approve": frozenset({C.SUBMITTED}),
    "reject": frozenset({C.SUBMITTED}),
    "settle": frozenset({C.APPROVED}),
}
ILLEGAL = [
    pytest.param(step, status, id=f"{step.split()[0]}-from-{status.value}")
    for step in COMMANDS
    for status in C
    if status not in ALLOWED[step]
]


@pytest.mark.parametrize(("step", "status"), ILLEGAL)
def test_a_step_from_a_status_it_does_not_fit_is_refused(step: str, status: ClaimStatus) -> None:
    claim = claim_in(status)
    allowed = ", ".join(sorted(s.value for s in ALLOWED[step]))
    message = f"cannot {step} a claim that is {status.value} (allowed from: {allowed})"
    with refused(claim, Conflict, message) as error:
        COMMANDS[step](claim)
    assert str(error.value) == message
    assert isinstance(error.value, Conflict)
    assert error.value.state == claim.as_public()


@pytest.mark.parametrize("status", list(C))
def test_every_status_rebuilds_from_its_events(status: ClaimStatus) -> None:
    claim = claim_in(status)
    loaded = rebuilt(claim)
    assert (loaded.form, loaded.decision) == (claim.form, claim.decision)
