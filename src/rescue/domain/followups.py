"""Follow-up calls (回访) the day after a repair, and the complaints they bring up.

Completion schedules one `FollowUp` per incident, due a configurable delay
later (a day by default), carrying the maintenance reminders for the vehicle
(the free-maintenance visits of the warranty policy still ahead of its odometer). An
operator works the list of due calls: a customer not reached is called again
later; a reached one gives a satisfaction score and comments. A score of 2 or
less, or an explicit complaint, opens a `Complaint`, which must be answered
within a configurable time or it is escalated (by the background timer), and
is closed once answered.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from rescue.domain.errors import Conflict
from rescue.domain.ids import NAMESPACE
from rescue.domain.warranty import WarrantyPolicy, maintenance_due

# A score at or below this opens a complaint.
COMPLAINT_SCORE = 2


def followup_uuid(incident_id: str) -> UUID:
    return uuid5(NAMESPACE, f"followup:{incident_id}")


def complaint_uuid(incident_id: str) -> UUID:
    return uuid5(NAMESPACE, f"complaint:{incident_id}")


def reminders_for(policy: WarrantyPolicy, vehicle: dict[str, Any]) -> list[dict[str, Any]]:
    """The free maintenance visits still ahead of the vehicle, for the caller to remind."""
    odometer = int(vehicle.get("odometer_km") or 0)
    try:
        visits = maintenance_due(policy, str(vehicle.get("model_series", "")), odometer)
    except ValueError:
        return []
    return [
        {"at_km": v.at_km, "items": list(v.items), "km_to_go": v.at_km - odometer} for v in visits
    ]


class FollowUp(Aggregate):
    """The call to the customer after a repair; due until the customer is reached."""

    @staticmethod
    def create_id(incident_id: str, **_: Any) -> UUID:
        return followup_uuid(incident_id)

    @event("Scheduled")
    def __init__(
        self,
        incident_id: str,
        due_at: datetime,
        vehicle: dict[str, Any],
        reminders: list[dict[str, Any]],
        actor: dict[str, Any],
    ) -> None:
        self.incident_id = incident_id
        self.due_at = due_at
        self.vehicle = vehicle
        self.reminders = reminders
        self.status = "due"
        self.attempts = 0
        self.outcome: dict[str, Any] | None = None

    def _require_due(self) -> None:
        if self.status != "due":
            raise Conflict("this follow-up call has been made already", self.as_public())

    def not_reached(self, comments: str | None, retry_at: datetime, actor: dict[str, Any]) -> None:
        self._require_due()
        self._not_reached(
            attempt=self.attempts + 1, comments=comments, retry_at=retry_at, actor=actor
        )

    @event("NotReached")
    def _not_reached(
        self, attempt: int, comments: str | None, retry_at: datetime, actor: dict[str, Any]
    ) -> None:
        self.attempts = attempt
        self.due_at = retry_at

    def reached(
        self, satisfaction: int, comments: str | None, complaint: bool, actor: dict[str, Any]
    ) -> None:
        self._require_due()
        self._reached(
            attempt=self.attempts + 1,
            satisfaction=satisfaction,
            comments=comments,
            complaint=complaint,
            actor=actor,
        )

    @event("Reached")
    def _reached(
        self,
        attempt: int,
        satisfaction: int,
        comments: str | None,
        complaint: bool,
        actor: dict[str, Any],
    ) -> None:
        self.attempts = attempt
        self.status = "done"
        self.outcome = {"satisfaction": satisfaction, "comments": comments, "complaint": complaint}

    @property
    def opens_complaint(self) -> bool:
        return self.outcome is not None and (
            bool(self.outcome["complaint"]) or self.outcome["satisfaction"] <= COMPLAINT_SCORE
        )

    def as_public(self) -> dict[str, Any]:
        return {
            "followup_id": str(self.id),
            "incident_id": self.incident_id,
            "status": self.status,
            "due_at": self.due_at.isoformat(),
            "attempts": self.attempts,
            "vehicle": self.vehicle,
            "reminders": self.reminders,
            "outcome": self.outcome,
            "version": self.version,
        }


class Complaint(Aggregate):
    """A customer's complaint: opened, answered, closed; escalated if not answered in time."""

    @staticmethod
    def create_id(incident_id: str, **_: Any) -> UUID:
        return complaint_uuid(incident_id)

    @event("Opened")
    def __init__(
        self,
        incident_id: str,
        origin: str,
        satisfaction: int | None,
        text: str | None,
        answer_due_at: datetime,
        actor: dict[str, Any],
    ) -> None:
        self.incident_id = incident_id
        self.origin = origin
        self.satisfaction = satisfaction
        self.text = text
        self.answer_due_at = answer_due_at
        self.status = "open"
        self.escalated = False
        self.answer: str | None = None
        self.resolution: str | None = None

    def escalate(self, now: datetime, actor: dict[str, Any]) -> bool:
        """Escalates an open complaint past its answer time, once; False if not due."""
        if self.status != "open" or self.escalated or now < self.answer_due_at:
            return False
        overdue = (now - self.answer_due_at).total_seconds() / 60
        self._escalated(overdue_min=round(overdue, 1), actor=actor)
        return True

    @event("Escalated")
    def _escalated(self, overdue_min: float, actor: dict[str, Any]) -> None:
        self.escalated = True

    def answer_with(self, text: str, actor: dict[str, Any]) -> None:
        if self.status != "open":
            raise Conflict(f"the complaint is {self.status}, not open", self.as_public())
        self._answered(text=text, actor=actor)

    @event("Answered")
    def _answered(self, text: str, actor: dict[str, Any]) -> None:
        self.status = "answered"
        self.answer = text

    def close(self, resolution: str | None, actor: dict[str, Any]) -> None:
        if self.status != "answered":
            raise Conflict(
                f"the complaint is {self.status}: answer it before closing", self.as_public()
            )
        self._closed(resolution=resolution, actor=actor)

    @event("Closed")
    def _closed(self, resolution: str | None, actor: dict[str, Any]) -> None:
        self.status = "closed"
        self.resolution = resolution

    def as_public(self) -> dict[str, Any]:
        return {
            "complaint_id": str(self.id),
            "incident_id": self.incident_id,
            "status": self.status,
            "origin": self.origin,
            "satisfaction": self.satisfaction,
            "text": self.text,
            "answer_due_at": self.answer_due_at.isoformat(),
            "escalated": self.escalated,
            "answer": self.answer,
            "resolution": self.resolution,
            "opened_at": self.created_on.isoformat(),
            "version": self.version,
        }
