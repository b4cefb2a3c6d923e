"""Incidents: a breakdown call from report to close, every step an event.

Each step may be taken only by its role and only from the statuses where it
makes sense; anything else raises `Conflict` carrying the current state, so
an operator or crew sees why (two operators on one incident, a crew tapping
a step twice).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate, event

from rescue.domain import messages, photos
from rescue.domain.errors import Conflict, Forbidden
from rescue.domain.vocabulary import FINAL_STATUSES, IncidentStatus, Outcome

S = IncidentStatus

# Where each step may start from. Cancelling is allowed until the crew has
# finished on scene: after that there is a record of work done to close.
CAN_DISPATCH = frozenset({S.REPORTED, S.QUEUED, S.OFFERED})
CAN_CANCEL = frozenset({S.REPORTED, S.QUEUED, S.OFFERED, S.ACCEPTED, S.EN_ROUTE, S.ON_SCENE})


class Incident(Aggregate):
    """One breakdown: who called (sealed), the vehicle, where, what failed, and what was done."""

    @event("Reported")
    def __init__(
        self,
        sealed_caller: str,
        vehicle: dict[str, Any],
        location: dict[str, Any],
        fault: dict[str, Any],
        safety: dict[str, Any],
        priority: int,
        priority_reasons: list[str],
        capability: str,
        actor: dict[str, Any],
    ) -> None:
        # The caller's name and phone are personal data, sealed with the
        # application's cipher before they reach the event (see privacy.py).
        self.sealed_caller = sealed_caller
        self.vehicle = vehicle
        self.location = location
        self.fault = fault
        self.safety = safety
        self.priority = priority
        self.priority_reasons = list(priority_reasons)
        self.capability = capability
        self.status = S.REPORTED
        self.van_id: str | None = None
        self.station_id: str | None = None
        self.offer_expires_at: datetime | None = None
        self.declined_van_ids: list[str] = []
        self.last_dispatch: dict[str, Any] | None = None
        self.eta_min: float | None = None
        self.diagnosis: dict[str, Any] | None = None
        self.resolution: dict[str, Any] | None = None
        self.completion: dict[str, Any] | None = None
        self.cancel_reason: str | None = None
        self.version_accepted: int | None = None
        self.overdue_flagged_for: tuple[str, int | None] | None = None

    # -- guards -----------------------------------------------------------------

    def _require(self, allowed: frozenset[IncidentStatus] | set[IncidentStatus], step: str) -> None:
        if self.status in FINAL_STATUSES:
            raise Conflict(
                f"incident is {self.status.value} and can no longer change", self.as_public()
            )
        if self.status not in allowed:
            allowed_list = ", ".join(sorted(s.value for s in allowed))
            raise Conflict(
                f"cannot {step} an incident that is {self.status.value} "
                f"(allowed from: {allowed_list})",
                self.as_public(),
            )

    def require_van(self, van_id: str | None) -> None:
        """Crew steps are for the van the incident is with, and no other.

        Checked before the status: a crew whose van the incident is not (or no
        longer) with may not act on it at all, whatever its status (403).
        """
        if van_id is None or van_id != self.van_id:
            raise Forbidden(f"this incident is not with van {van_id}")

    @property
    def is_open(self) -> bool:
        return self.status not in FINAL_STATUSES and self.status is not S.COMPLETED

    # -- dispatch ---------------------------------------------------------------

    def offer(
        self,
        van_id: str,
        station_id: str,
        distance_km: float | None,
        eta_min: float | None,
        expires_at: datetime,
        decision: dict[str, Any],
        actor: dict[str, Any],
    ) -> str | None:
        """Offers the job to a van; returns the van it was withdrawn from, if any."""
        self._require(CAN_DISPATCH, "dispatch")
        previous = self.van_id if self.status is S.OFFERED else None
        self._offered(
            van_id=van_id,
            station_id=station_id,
            distance_km=distance_km,
            eta_min=eta_min,
            expires_at=expires_at,
            decision=decision,
            withdrawn_from=previous,
            actor=actor,
        )
        return previous

    @event("Offered")
    def _offered(
        self,
        van_id: str,
        station_id: str,
        distance_km: float | None,
        eta_min: float | None,
        expires_at: datetime,
        decision: dict[str, Any],
        withdrawn_from: str | None,
        actor: dict[str, Any],
    ) -> None:
        self.status = S.OFFERED
        self.van_id = van_id
        self.station_id = station_id
        self.offer_expires_at = expires_at
        self.last_dispatch = decision
        self.eta_min = eta_min

    def queue(self, decision: dict[str, Any], actor: dict[str, Any]) -> None:
        self._require(CAN_DISPATCH, "queue")
        if self.status is S.QUEUED:
            return
        self._queued(decision=decision, actor=actor)

    @event("Queued")
    def _queued(self, decision: dict[str, Any], actor: dict[str, Any]) -> None:
        self.status = S.QUEUED
        self.van_id = None
        self.station_id = None
        self.offer_expires_at = None
        self.last_dispatch = decision

    def decline(self, van_id: str, reason: str, actor: dict[str, Any]) -> None:
        self.require_van(van_id)
        self._require({S.OFFERED}, "decline")
        self._declined(van_id=van_id, reason=reason, actor=actor)

    @event("Declined")
    def _declined(self, van_id: str, reason: str, actor: dict[str, Any]) -> None:
        self.declined_van_ids.append(van_id)
        self.status = S.REPORTED
        self.van_id = None
        self.station_id = None
        self.offer_expires_at = None

    def expire_offer(self, now: datetime, actor: dict[str, Any]) -> str:
        """The offered van did not answer in time; returns that van's id."""
        self._require({S.OFFERED}, "expire the offer of")
        assert self.van_id is not None and self.offer_expires_at is not None
        if now < self.offer_expires_at:
            raise Conflict("the offer has not expired yet", self.as_public())
        van_id = self.van_id
        self._offer_expired(van_id=van_id, actor=actor)
        return van_id

    @event("OfferExpired")
    def _offer_expired(self, van_id: str, actor: dict[str, Any]) -> None:
        # An unanswered van is not asked again for this incident.
        self.declined_van_ids.append(van_id)
        self.status = S.REPORTED
        self.van_id = None
        self.station_id = None
        self.offer_expires_at = None

    def flag_overdue(self, van_id: str, overdue_min: float, actor: dict[str, Any]) -> bool:
        """Records, once per acceptance, that the van is late; False if not applicable."""
        if self.status not in (S.ACCEPTED, S.EN_ROUTE) or self.van_id != van_id:
            return False
        if self.overdue_flagged_for == (van_id, self.version_accepted):
            return False
        self._arrival_overdue(van_id=van_id, overdue_min=round(overdue_min, 1), actor=actor)
        return True

    @event("ArrivalOverdue")
    def _arrival_overdue(self, van_id: str, overdue_min: float, actor: dict[str, Any]) -> None:
        self.overdue_flagged_for = (van_id, self.version_accepted)

    # -- crew steps -------------------------------------------------------------

    def accept(self, van_id: str, eta_min: float, actor: dict[str, Any]) -> None:
        self.require_van(van_id)
        self._require({S.OFFERED}, "accept")
        self._accepted(eta_min=eta_min, actor=actor)

    @event("Accepted")
    def _accepted(self, eta_min: float, actor: dict[str, Any]) -> None:
        self.status = S.ACCEPTED
        self.eta_min = eta_min
        self.offer_expires_at = None
        self.version_accepted = self.version + 1

    def depart(self, van_id: str, actor: dict[str, Any]) -> None:
        self.require_van(van_id)
        self._require({S.ACCEPTED}, "depart for")
        self._departed(actor=actor)

    @event("Departed")
    def _departed(self, actor: dict[str, Any]) -> None:
        self.status = S.EN_ROUTE

    def arrive(self, van_id: str, actor: dict[str, Any]) -> None:
        self.require_van(van_id)
        self._require({S.EN_ROUTE}, "arrive at")
        self._arrived(actor=actor)

    @event("Arrived")
    def _arrived(self, actor: dict[str, Any]) -> None:
        self.status = S.ON_SCENE

    def diagnose(
        self,
        van_id: str,
        cause: str,
        parts: list[dict[str, Any]],
        findings: list[str],
        actor: dict[str, Any],
    ) -> None:
        self.require_van(van_id)
        self._require({S.ON_SCENE}, "diagnose")
        self._diagnosed(cause=cause, parts=parts, findings=findings, actor=actor)

    @event("Diagnosed")
    def _diagnosed(
        self, cause: str, parts: list[dict[str, Any]], findings: list[str], actor: dict[str, Any]
    ) -> None:
        # A later diagnosis replaces an earlier one; both stay in the log.
        self.diagnosis = {"cause": cause, "parts": parts, "findings": findings}

    def resolve(
        self, van_id: str, outcome: str, tow_station_id: str | None, actor: dict[str, Any]
    ) -> None:
        self.require_van(van_id)
        self._require({S.ON_SCENE}, "resolve")
        self._resolved(outcome=outcome, tow_station_id=tow_station_id, actor=actor)

    @event("Resolved")
    def _resolved(self, outcome: str, tow_station_id: str | None, actor: dict[str, Any]) -> None:
        self.resolution = {"outcome": outcome, "tow_station_id": tow_station_id}
        if outcome == Outcome.TOWED:
            self.status = S.TOWING

    def complete(
        self,
        van_id: str,
        customer_signed: bool,
        satisfaction: int | None,
        actor: dict[str, Any],
    ) -> None:
        self.require_van(van_id)
        self._require({S.ON_SCENE, S.TOWING}, "complete")
        if self.resolution is None:
            raise Conflict(
                "record the outcome (resolve: repaired_on_site or towed) before completing",
                self.as_public(),
            )
        self._completed(customer_signed=customer_signed, satisfaction=satisfaction, actor=actor)

    @event("Completed")
    def _completed(
        self, customer_signed: bool, satisfaction: int | None, actor: dict[str, Any]
    ) -> None:
        self.status = S.COMPLETED
        self.completion = {"customer_signed": customer_signed, "satisfaction": satisfaction}

    # -- operator steps ---------------------------------------------------------

    def cancel(self, reason: str, actor: dict[str, Any]) -> str | None:
        """Cancels the incident; returns the van to release, if one was bound."""
        self._require(CAN_CANCEL, "cancel")
        van_id = self.van_id
        self._cancelled(reason=reason, actor=actor)
        return van_id

    @event("Cancelled")
    def _cancelled(self, reason: str, actor: dict[str, Any]) -> None:
        self.status = S.CANCELLED
        self.cancel_reason = reason
        self.offer_expires_at = None

    def close(self, actor: dict[str, Any]) -> None:
        self._require({S.COMPLETED}, "close")
        self._closed(actor=actor)

    @event("Closed")
    def _closed(self, actor: dict[str, Any]) -> None:
        self.status = S.CLOSED

    # -- messages between the operator and the crew ----------------------------

    class MessageSent(messages.MessageSent):
        pass

    class MessageRead(messages.MessageRead):
        pass

    def send_message(self, message_id: str, text: str, actor: dict[str, Any]) -> None:
        """The operator, or the crew of the incident's van, writes about this job."""
        messages.side_of(actor["role"])
        if actor["role"] == "crew":
            self.require_van(actor.get("van_id"))
        if self.status in (S.CLOSED, S.CANCELLED):
            raise Conflict(
                f"incident is {self.status.value}: no more messages about it", self.as_public()
            )
        self.trigger_event(
            self.MessageSent, message_id=message_id, text=messages.check_text(text), actor=actor
        )

    def read_message(self, message_id: str, actor: dict[str, Any]) -> bool:
        """Records that the other side read a message; False when it was read already."""
        if actor["role"] == "crew":
            self.require_van(actor.get("van_id"))
        message = messages.find(messages.messages_of(self), message_id)
        if not messages.check_reader(message, actor["role"]):
            return False
        self.trigger_event(self.MessageRead, message_id=message_id, actor=actor)
        return True

    # -- photos as evidence -----------------------------------------------------

    class PhotoAttached(Aggregate.Event):
        photo_id: str
        sha256: str
        bytes: int
        content_type: str
        kind: str
        part_no: str | None
        width: int
        height: int
        taken_at: str | None  # what the photo's metadata claims
        gps: dict[str, float] | None  # likewise
        actor: dict[str, Any]

        def apply(self, aggregate: Any) -> None:
            fields = {
                "photo_id": self.photo_id,
                "sha256": self.sha256,
                "bytes": self.bytes,
                "content_type": self.content_type,
                "kind": self.kind,
                "part_no": self.part_no,
                "width": self.width,
                "height": self.height,
                "taken_at": self.taken_at,
                "gps": self.gps,
            }
            photos.photos_of(aggregate).append(photos.photo_doc(fields, self.actor, self.timestamp))

    def attach_photo(self, facts: dict[str, Any], actor: dict[str, Any]) -> dict[str, Any]:
        """The crew of the incident's van adds a photo; the same bytes again add nothing.

        Allowed until the incident is closed or cancelled: photos queued on a tablet
        that was offline arrive after the job was completed.
        """
        self.require_van(actor.get("van_id"))
        if self.status in (S.CLOSED, S.CANCELLED):
            raise Conflict(
                f"incident is {self.status.value}: no more photos of it", self.as_public()
            )
        kept = photos.photos_of(self)
        for photo in kept:
            if photo["sha256"] == facts["sha256"]:
                return photo
        self.trigger_event(self.PhotoAttached, actor=actor, **facts)
        return kept[-1]

    # -- views ------------------------------------------------------------------

    def as_public(self) -> dict[str, Any]:
        """The incident without the caller (who needs the cipher to be read)."""
        return {
            "incident_id": str(self.id),
            "status": self.status.value,
            "priority": self.priority,
            "priority_reasons": self.priority_reasons,
            "capability": self.capability,
            "vehicle": self.vehicle,
            "location": self.location,
            "fault": self.fault,
            "safety": self.safety,
            "van_id": self.van_id,
            "station_id": self.station_id,
            "eta_min": self.eta_min,
            "offer_expires_at": _iso(self.offer_expires_at),
            "declined_van_ids": self.declined_van_ids,
            "diagnosis": self.diagnosis,
            "resolution": self.resolution,
            "completion": self.completion,
            "cancel_reason": self.cancel_reason,
            "reported_at": _iso(self.created_on),
            "updated_at": _iso(self.modified_on),
            "version": self.version,
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
