"""Warranty claims (索赔申请单) built from what was recorded on the incident.

The form is read from the incident's events, not typed in again: every field
carries the value and the event it came from (``{"value": ..., "source":
{"event": "Incident.Diagnosed", "version": 6, "at": ...}}``), so a reviewer
can trace each line of the claim to the record: a claim must be traceable to
what was actually found and done.

On completion (`on_completion`, called in the same transaction as the
`complete` step) the warranty rule (rescue.domain.warranty) judges the incident:

* ``covered`` or ``needs_approval``: a `Claim` is drafted. A claim that needs
  approval waits for the after-sales section's recorded decision, which cites
  the owner's maintenance evidence (`decide_approval`); approved, it is a
  covered claim; rejected, the repair is paid service.
* ``not_covered``: the repair is marked as paid service (`PaidService`), with
  the reasons, so the customer can be told why and charged.

A drafted claim is then submitted to the maker, approved or rejected with a
reason, and an approved one settled (索赔结算). Ids derive from the incident id,
so a retried completion collides instead of drafting twice.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from rescue.domain.errors import Conflict
from rescue.domain.ids import NAMESPACE
from rescue.domain.validation import CHINA_TZ
from rescue.domain.warranty import (
    NEEDS_APPROVAL,
    NOT_COVERED,
    UNDETERMINED,
    Part,
    Reason,
    WarrantyDecision,
    WarrantyPolicy,
    decide,
    settle_approval,
)

# Who may settle a needs_approval decision and record the maker's answer: the
# after-sales section, which holds the admin role here (auditors are read-only).
DECIDING_ROLES = frozenset({"admin"})
SUBMITTING_ROLES = frozenset({"operator", "admin"})


def claim_uuid(incident_id: str) -> UUID:
    return uuid5(NAMESPACE, f"claim:{incident_id}")


def paid_service_uuid(incident_id: str) -> UUID:
    return uuid5(NAMESPACE, f"paid-service:{incident_id}")


@functools.cache
def warranty_policy() -> WarrantyPolicy:
    """The policy table, read once per process (RESCUE_WARRANTY_POLICY or the packaged file)."""
    return WarrantyPolicy.load()


class ClaimStatus(StrEnum):
    AWAITING_APPROVAL = "awaiting_approval"
    DRAFTED = "drafted"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    SETTLED = "settled"
    PAID_SERVICE = "paid_service"


C = ClaimStatus


class Claim(Aggregate):
    """One warranty claim, from draft to settlement."""

    @staticmethod
    def create_id(incident_id: str, **_: Any) -> UUID:
        return claim_uuid(incident_id)

    @event("Drafted")
    def __init__(
        self,
        incident_id: str,
        decision: dict[str, Any],
        form: dict[str, Any],
        actor: dict[str, Any],
    ) -> None:
        self.incident_id = incident_id
        self.decision = decision
        self.form = form
        self.status = C.AWAITING_APPROVAL if decision["decision"] == NEEDS_APPROVAL else C.DRAFTED
        self.approval: dict[str, Any] | None = None
        self.answer: dict[str, Any] | None = None
        self.settlement: dict[str, Any] | None = None

    def _require(self, allowed: set[ClaimStatus], step: str) -> None:
        if self.status not in allowed:
            names = ", ".join(sorted(s.value for s in allowed))
            raise Conflict(
                f"cannot {step} a claim that is {self.status.value} (allowed from: {names})",
                self.as_public(),
            )

    def decide_approval(
        self, approved: bool, evidence: str, decision: dict[str, Any], actor: dict[str, Any]
    ) -> None:
        self._require({C.AWAITING_APPROVAL}, "decide the approval of")
        self._approval_decided(approved=approved, evidence=evidence, decision=decision, actor=actor)

    @event("ApprovalDecided")
    def _approval_decided(
        self, approved: bool, evidence: str, decision: dict[str, Any], actor: dict[str, Any]
    ) -> None:
        self.approval = {"approved": approved, "evidence": evidence, "by": actor.get("name")}
        self.decision = decision
        self.status = C.DRAFTED if approved else C.PAID_SERVICE

    def submit(self, actor: dict[str, Any]) -> None:
        self._require({C.DRAFTED}, "submit")
        sign_off = (self.form.get("customer_sign_off") or {}).get("value") or {}
        if not sign_off.get("customer_signed"):
            raise Conflict(
                "the customer has not signed the repair off: a claim needs the sign-off",
                self.as_public(),
            )
        self._submitted(actor=actor)

    @event("Submitted")
    def _submitted(self, actor: dict[str, Any]) -> None:
        self.status = C.SUBMITTED

    def approve(self, reference: str | None, note: str | None, actor: dict[str, Any]) -> None:
        self._require({C.SUBMITTED}, "approve")
        self._approved(reference=reference, note=note, actor=actor)

    @event("Approved")
    def _approved(self, reference: str | None, note: str | None, actor: dict[str, Any]) -> None:
        self.status = C.APPROVED
        self.answer = {"approved": True, "reference": reference, "note": note}

    def reject(self, reason: str, actor: dict[str, Any]) -> None:
        self._require({C.SUBMITTED}, "reject")
        self._rejected(reason=reason, actor=actor)

    @event("Rejected")
    def _rejected(self, reason: str, actor: dict[str, Any]) -> None:
        self.status = C.REJECTED
        self.answer = {"approved": False, "reason": reason}

    def settle(self, amount: str, reference: str | None, actor: dict[str, Any]) -> None:
        self._require({C.APPROVED}, "settle")
        self._settled(amount=amount, reference=reference, actor=actor)

    @event("Settled")
    def _settled(self, amount: str, reference: str | None, actor: dict[str, Any]) -> None:
        self.status = C.SETTLED
        self.settlement = {"amount": amount, "reference": reference}

    def as_public(self) -> dict[str, Any]:
        return {
            "claim_id": str(self.id),
            "incident_id": self.incident_id,
            "status": self.status.value,
            "approval": self.approval,
            "answer": self.answer,
            "settlement": self.settlement,
            "drafted_at": self.created_on.isoformat(),
            "updated_at": self.modified_on.isoformat(),
            "version": self.version,
        }


class PaidService(Aggregate):
    """A repair the warranty does not cover: the customer pays, and is told why."""

    @staticmethod
    def create_id(incident_id: str, **_: Any) -> UUID:
        return paid_service_uuid(incident_id)

    @event("Marked")
    def __init__(
        self,
        incident_id: str,
        decision: dict[str, Any],
        form: dict[str, Any],
        actor: dict[str, Any],
    ) -> None:
        self.incident_id = incident_id
        self.decision = decision
        self.form = form

    def as_public(self) -> dict[str, Any]:
        return {
            "paid_service_id": str(self.id),
            "incident_id": self.incident_id,
            "status": C.PAID_SERVICE.value,
            "marked_at": self.created_on.isoformat(),
        }


# -- the form, from the incident's events ---------------------------------------------------


def _source(domain_event: Any) -> dict[str, Any]:
    return {
        "event": type(domain_event).__qualname__,
        "version": domain_event.originator_version,
        "at": domain_event.timestamp.isoformat(),
    }


def _field(value: Any, domain_event: Any | None) -> dict[str, Any]:
    return {"value": value, "source": _source(domain_event) if domain_event is not None else None}


def _merged_parts(parts: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Parts by part number: a number the crew listed twice counts once, with both quantities."""
    merged: dict[str, dict[str, Any]] = {}
    for part in parts:
        known = merged.get(part["part_no"])
        if known is None:
            merged[part["part_no"]] = dict(part)
        else:
            known["qty"] = int(known.get("qty", 1)) + int(part.get("qty", 1))
            known["original"] = bool(known.get("original", True)) and bool(
                part.get("original", True)
            )
    return list(merged.values())


def failure_date(reported_at: datetime) -> date:
    """The failure date of a claim: the day of the call, in China."""
    return reported_at.astimezone(CHINA_TZ).date()


def build_claim(
    events: Sequence[Any], policy: WarrantyPolicy
) -> tuple[WarrantyDecision, dict[str, Any]]:
    """The warranty decision and the claim form from an incident's events (oldest first)."""
    by_name: dict[str, Any] = {}
    offered_for: dict[str, Any] = {}
    for domain_event in events:
        name = type(domain_event).__qualname__.split(".")[-1]
        if name == "Offered":
            offered_for[domain_event.van_id] = domain_event
        by_name[name] = domain_event  # the latest of each kind
    reported = by_name["Reported"]
    accepted = by_name.get("Accepted")
    diagnosed = by_name.get("Diagnosed")
    resolved = by_name.get("Resolved")
    completed = by_name.get("Completed")
    crew_van = (accepted.actor or {}).get("van_id") if accepted is not None else None
    offer = offered_for.get(crew_van) if crew_van else None

    vehicle = reported.vehicle
    failed_on = failure_date(reported.timestamp)
    parts = _merged_parts(diagnosed.parts if diagnosed is not None else [])
    findings = list(diagnosed.findings) if diagnosed is not None else []
    decision = _decide(policy, vehicle, failed_on, parts, findings)
    series = str(vehicle.get("model_series", ""))

    def scope_of(part: dict[str, Any]) -> str:
        if not policy.knows(series):
            return "none"
        return policy.limit_for(series, part.get("system", "other")).scope

    form = {
        "vehicle": {
            "vin": _field(vehicle.get("vin"), reported),
            "plate": _field(vehicle.get("plate"), reported),
            "model_series": _field(vehicle.get("model_series"), reported),
            "sold_on": _field(vehicle.get("sold_on"), reported),
        },
        "failure": {
            "date": _field(failed_on.isoformat(), reported),
            "odometer_km": _field(vehicle.get("odometer_km"), reported),
            "location": _field(reported.location, reported),
        },
        "fault": _field(reported.fault, reported),
        "cause": _field(diagnosed.cause if diagnosed else None, diagnosed),
        "findings": _field(findings, diagnosed),
        "parts": _field(
            [
                {
                    "part_no": p["part_no"],
                    "name": p.get("name", ""),
                    "qty": p.get("qty", 1),
                    "system": p.get("system"),
                    "original": p.get("original", True),
                    "scope": scope_of(p),
                    "covered": p["part_no"] in decision.covered_parts,
                }
                for p in parts
            ],
            diagnosed,
        ),
        "on_site_work": _field(
            {"outcome": resolved.outcome, "tow_station_id": resolved.tow_station_id}
            if resolved
            else None,
            resolved,
        ),
        "crew": _field(
            {"van_id": crew_van, "name": accepted.actor.get("name")} if accepted else None,
            accepted,
        ),
        "station": _field(offer.station_id if offer else None, offer),
        "customer_sign_off": _field(
            {"customer_signed": completed.customer_signed, "satisfaction": completed.satisfaction}
            if completed
            else None,
            completed,
        ),
        "decision": {
            "value": decision.as_dict(),
            "source": {
                "rule": "rescue.domain.warranty.decide",
                "inputs": [s for s in (_source(reported), diagnosed and _source(diagnosed)) if s],
            },
        },
    }
    return decision, form


def _decide(
    policy: WarrantyPolicy,
    vehicle: dict[str, Any],
    failed_on: date,
    parts: list[dict[str, Any]],
    findings: list[str],
) -> WarrantyDecision:
    try:
        return decide(
            policy,
            series=str(vehicle.get("model_series", "")),
            sold_on=date.fromisoformat(str(vehicle["sold_on"])),
            failed_on=failed_on,
            odometer_km=int(vehicle.get("odometer_km", 0)),
            parts=[Part.from_dict(p) for p in parts],
            findings=findings,
        )
    except (ValueError, KeyError) as error:
        # The inputs were validated when recorded; should the rule still refuse
        # them, people decide, not the code.
        return WarrantyDecision(
            decision=NEEDS_APPROVAL,
            reasons=(Reason(UNDETERMINED, f"the warranty rule cannot judge this record: {error}"),),
            scope="none",
            months_in_service=0,
            odometer_km=int(vehicle.get("odometer_km", 0) or 0),
            covered_parts=(),
            uncovered_parts=tuple(p["part_no"] for p in parts),
        )


def decision_from_dict(data: dict[str, Any]) -> WarrantyDecision:
    return WarrantyDecision(
        decision=data["decision"],
        reasons=tuple(Reason(r["rule"], r["message"], r.get("part_no")) for r in data["reasons"]),
        scope=data["scope"],
        months_in_service=data["months_in_service"],
        odometer_km=data["odometer_km"],
        covered_parts=tuple(data["covered_parts"]),
        uncovered_parts=tuple(data["uncovered_parts"]),
    )


def records_for(
    incident_id: str, events: Sequence[Any], actor: dict[str, Any]
) -> Claim | PaidService:
    """What completion records: a drafted claim, or the repair marked as paid service."""
    decision, form = build_claim(events, warranty_policy())
    if decision.decision == NOT_COVERED:
        return PaidService(
            incident_id=incident_id, decision=decision.as_dict(), form=form, actor=actor
        )
    return Claim(incident_id=incident_id, decision=decision.as_dict(), form=form, actor=actor)


def settled_decision(claim: Claim, approved: bool, evidence: str, approver: str) -> dict[str, Any]:
    """The decision after the after-sales section's approval (pure: rescue.domain.warranty)."""
    try:
        settled = settle_approval(
            decision_from_dict(claim.decision),
            approved=approved,
            evidence=evidence,
            approver=approver,
        )
    except ValueError as error:
        raise Conflict(str(error), claim.as_public()) from None
    return settled.as_dict()


def money(amount: Decimal) -> str:
    """An amount in yuan as the record keeps it: a plain decimal string with two places."""
    return str(amount.quantize(Decimal("0.01")))
