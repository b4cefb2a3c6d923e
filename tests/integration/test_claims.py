"""The warranty claim is built from what the crew recorded, each field citing its event, and its
life (drafted, submitted, answered, settled; or paid service; or an approval) is on record."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from rescue.bootstrap import Rescue
from rescue.domain.actors import Actor
from rescue.domain.errors import Conflict
from rescue.services.aftersales import AfterSales
from tests.builders import OPERATOR, line_network, load, open_app, served
from tests.record_builders import ENGINE_PART, OTHER_PART, call, history_events, worked

AFTER_SALES = Actor(role="admin", name="after-sales section")


@pytest.fixture
def app(store_url: str) -> Iterator[Rescue]:
    with open_app(store_url) as rescue:
        load(rescue, *line_network(2))
        yield rescue


@pytest.fixture
def desk(app: Rescue) -> AfterSales:
    return app.aftersales


def cites(field: dict[str, Any], event: dict[str, Any]) -> bool:
    source = field["source"]
    return bool(
        source["event"] == f"Incident.{event['type']}"
        and source["version"] == event["version"]
        and source["at"] == event["at"]
    )


def test_a_completed_incident_yields_a_claim_matching_the_record(
    app: Rescue, desk: AfterSales
) -> None:
    # 1. A D22 six months old: an engine part and another part, both within their warranty.
    incident_id = worked(app, call("D22", odometer_km=12_000), cause="fuel pump seized")
    claim = desk.claim(incident_id)
    events = history_events(app, incident_id)

    # 2. Completion drafted a covered claim, decided by the rule with its scope per part.
    assert claim["status"] == "drafted"
    assert claim["decision"] == "covered"
    assert claim["scope"] == "mixed"
    assert claim["covered_parts"] == ["E-1001", "O-2002"]
    assert claim["odometer_km"] == 12_000
    form = claim["form"]

    # 3. Each field holds what was recorded, and names the event (type and version) it came from.
    reported = events["Reported"]
    assert form["vehicle"]["vin"]["value"] == reported["data"]["vehicle"]["vin"]
    assert form["vehicle"]["model_series"]["value"] == "D22"
    assert form["vehicle"]["sold_on"]["value"] == reported["data"]["vehicle"]["sold_on"]
    assert form["failure"]["odometer_km"]["value"] == 12_000
    for field in (form["vehicle"]["vin"], form["failure"]["date"], form["fault"]):
        assert cites(field, reported)
    assert form["cause"]["value"] == "fuel pump seized"
    assert cites(form["cause"], events["Diagnosed"])
    parts = form["parts"]["value"]
    assert [(p["part_no"], p["name"], p["qty"], p["scope"]) for p in parts] == [
        ("E-1001", "fuel pump", 1, "engine"),
        ("O-2002", "relay", 2, "other"),
    ]
    assert cites(form["parts"], events["Diagnosed"])
    assert form["on_site_work"]["value"]["outcome"] == "repaired_on_site"
    assert cites(form["on_site_work"], events["Resolved"])
    assert form["crew"]["value"] == {"van_id": "V1", "name": "crew-V1"}
    assert cites(form["crew"], events["Accepted"])
    assert form["station"]["value"] == "S1"
    assert cites(form["station"], events["Offered"])
    assert form["customer_sign_off"]["value"] == {"customer_signed": True, "satisfaction": 4}
    assert cites(form["customer_sign_off"], events["Completed"])
    assert form["decision"]["value"]["decision"] == "covered"

    # 4. The claim's life: submitted, approved by the maker, settled; each step an event.
    desk.submit_claim(incident_id, OPERATOR.actor)
    desk.answer_claim(incident_id, True, None, "ZN-2025-0042", AFTER_SALES)
    desk.settle_claim(incident_id, Decimal("1234.5"), "pay-77", AFTER_SALES)
    settled = desk.claim(incident_id)
    assert settled["status"] == "settled"
    assert settled["claim"]["settlement"] == {"amount": "1234.50", "reference": "pay-77"}
    assert [e["type"] for e in settled["events"]] == ["Drafted", "Submitted", "Approved", "Settled"]
    assert [e["actor"]["role"] for e in settled["events"]] == ["crew", "operator", "admin", "admin"]

    # 5. Settled is final: another answer is refused and records nothing.
    with pytest.raises(Conflict):
        desk.answer_claim(incident_id, False, "late", None, AFTER_SALES)
    assert len(desk.claim(incident_id)["events"]) == 4


def test_a_part_past_its_scope_is_listed_as_uncovered(app: Rescue, desk: AfterSales) -> None:
    # 1. A D22 at 40,000 km: past the 30,000 km of "other parts", within the engine's 50,000.
    incident_id = worked(app, call("D22", odometer_km=40_000))
    claim = desk.claim(incident_id)
    # 2. The claim covers the engine part only; the other part's reason names its rule.
    assert claim["decision"] == "covered"
    assert claim["covered_parts"] == ["E-1001"]
    assert claim["uncovered_parts"] == ["O-2002"]
    assert [(r["rule"], r["part_no"]) for r in claim["reasons"]] == [("mileage", "O-2002")]
    assert [p["covered"] for p in claim["form"]["parts"]["value"]] == [True, False]


def test_a_repair_not_covered_is_paid_service(app: Rescue, desk: AfterSales) -> None:
    # 1. The crew found misuse: exclusion e removes every part.
    incident_id = worked(app, call("PALADIN"), parts=[ENGINE_PART], findings=["misuse"])
    claim = desk.claim(incident_id)
    # 2. No claim is drafted: the repair is marked as paid service, with the reason.
    assert claim["status"] == "paid_service"
    assert claim["decision"] == "not_covered"
    assert [r["rule"] for r in claim["reasons"]] == ["e"]
    assert [e["type"] for e in claim["events"]] == ["Marked"]
    # 3. There is nothing to submit.
    with pytest.raises(Conflict):
        desk.submit_claim(incident_id, OPERATOR.actor)


@pytest.mark.parametrize("approved", [True, False], ids=["approved", "rejected"])
def test_an_undetermined_cause_waits_for_a_recorded_approval(
    app: Rescue, desk: AfterSales, approved: bool
) -> None:
    # 1. Cause hard to establish: the claim is drafted as needing approval.
    incident_id = worked(app, call("PALADIN"), parts=[OTHER_PART], findings=["undetermined"])
    claim = desk.claim(incident_id)
    assert claim["status"] == "awaiting_approval"
    assert claim["decision"] == "needs_approval"

    # 2. It cannot be submitted before the after-sales section decides.
    with pytest.raises(Conflict):
        desk.submit_claim(incident_id, OPERATOR.actor)

    # 3. The decision is recorded with the owner's maintenance evidence and who decided.
    evidence = "maintenance book: 1,500 and 5,000 km services at authorised point ZZ-03"
    desk.decide_approval(incident_id, approved, evidence, AFTER_SALES)
    decided = desk.claim(incident_id)
    event = decided["events"][-1]
    assert event["type"] == "ApprovalDecided"
    assert event["data"]["evidence"] == evidence
    assert event["actor"]["name"] == "after-sales section"
    assert any(evidence in r["message"] for r in decided["reasons"])
    if approved:
        # 4a. Approved: a covered claim that can now be submitted.
        assert (decided["status"], decided["decision"]) == ("drafted", "covered")
        desk.submit_claim(incident_id, OPERATOR.actor)
        assert desk.claim(incident_id)["status"] == "submitted"
    else:
        # 4b. Rejected: the repair is paid service; a second decision is refused.
        assert (decided["status"], decided["decision"]) == ("paid_service", "not_covered")
        with pytest.raises(Conflict):
            desk.decide_approval(incident_id, True, evidence, AFTER_SALES)


def test_a_rejected_claim_keeps_its_reason(app: Rescue, desk: AfterSales) -> None:
    # 1. A covered claim is submitted, then rejected by the maker with a reason.
    incident_id = worked(app, call("D22"))
    desk.submit_claim(incident_id, OPERATOR.actor)
    desk.answer_claim(incident_id, False, "pump damaged by dirty fuel", None, AFTER_SALES)
    claim = desk.claim(incident_id)
    # 2. The reason is on the claim and in its Rejected event; it can no longer be settled.
    assert claim["status"] == "rejected"
    assert claim["claim"]["answer"]["reason"] == "pump damaged by dirty fuel"
    assert claim["events"][-1]["data"]["reason"] == "pump damaged by dirty fuel"
    with pytest.raises(Conflict):
        desk.settle_claim(incident_id, Decimal("10"), None, AFTER_SALES)


def test_without_the_customers_sign_off_a_claim_is_not_submitted(
    app: Rescue, desk: AfterSales
) -> None:
    # 1. The job is completed without the customer signing.
    incident_id = worked(app, call("D22"), signed=False)
    # 2. The claim is drafted, but submitting it is refused until it is signed off.
    assert desk.claim(incident_id)["status"] == "drafted"
    with pytest.raises(Conflict, match="sign"):
        desk.submit_claim(incident_id, OPERATOR.actor)


def test_the_claim_over_http_by_role(store_url: str) -> None:
    with served(store_url) as world:
        app = world.app
        # 1. A completed incident (V1 is the nearest van).
        incident_id = worked(app, call("D22"))
        url = f"/api/incidents/{incident_id}/claim"
        # 2. Operators and auditors read the claim; a crew may not.
        for who in ("operator", "auditor"):
            answer = world.get(url, who)
            assert answer.status_code == 200, answer.text
            assert answer.json()["decision"] == "covered"
        assert world.get(url, "crew1").status_code == 403
        # 3. The operator submits; only the admin (after-sales) records the maker's answer.
        assert world.post(f"{url}/submit", "operator").json()["status"] == "submitted"
        rejected = {"approved": False, "reason": "no sign of the fault"}
        assert world.post(f"{url}/answer", "operator", json=rejected).status_code == 403
        assert world.post(f"{url}/answer", "admin", json={"approved": False}).status_code == 422
        answered = world.post(f"{url}/answer", "admin", json=rejected)
        assert answered.status_code == 200, answered.text
        assert answered.json()["status"] == "rejected"
        # 4. A step that does not fit is a 409 with the claim's state.
        late = world.post(f"{url}/settle", "admin", json={"amount": "10.00"})
        assert late.status_code == 409
        assert late.json()["state"]["status"] == "rejected"
        # 5. An incident not yet completed shows the preliminary decision, no claim.
        open_id = worked(app, call("D22"), complete=False)
        preliminary = world.get(f"/api/incidents/{open_id}/claim", "auditor").json()
        assert (preliminary["status"], preliminary["claim"]) == ("not_drafted", None)
