"""After-sales commands and queries: warranty claims, follow-up calls and complaints.

These run through the shared command runner (rescue.services.runner), so
they share its guarantees: a domain error records nothing, a concurrent
change re-runs the command, an `Idempotency-Key` retry gets the first answer.

`on_completion` is the hook the `complete` step calls inside its own
transaction: the claim (or paid-service mark) and the follow-up call are
recorded with the completion or not at all.

The due calls and open complaints are kept by `AfterSalesView`, which reads
only these aggregates' events after the position it has reached (a topic
filter on the log), up to the log's head, so a quiet log costs nothing and
GPS traffic is never decoded.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from rescue.domain.actors import SYSTEM_ACTOR, Actor
from rescue.domain.claims import (
    Claim,
    PaidService,
    build_claim,
    claim_uuid,
    money,
    paid_service_uuid,
    records_for,
    settled_decision,
    warranty_policy,
)
from rescue.domain.errors import Conflict
from rescue.domain.followups import (
    Complaint,
    FollowUp,
    complaint_uuid,
    followup_uuid,
    reminders_for,
)
from rescue.domain.idempotency import IdempotencyKey, Result
from rescue.services.clock import Clock
from rescue.services.queries import IncidentQueries
from rescue.services.runner import CommandRunner, Decision
from rescue.services.store import RescueStore
from rescue.settings import Settings
from rescue.store.legacy_topics import legacy_topic

if TYPE_CHECKING:
    from rescue.domain.incidents import Incident


DEFAULT_FOLLOWUP_DELAY_H = 24.0
DEFAULT_FOLLOWUP_RETRY_H = 2.0
DEFAULT_COMPLAINT_ANSWER_H = 24.0


def related_ids(incident_id: str) -> dict[str, Any]:
    """The aggregates that belong to an incident's record, by kind."""
    return {
        "claim": claim_uuid(incident_id),
        "paid_service": paid_service_uuid(incident_id),
        "followup": followup_uuid(incident_id),
        "complaint": complaint_uuid(incident_id),
    }


# -- the worklist view ------------------------------------------------------------------------

# Each class under its topic now and the one logs written before `rescue.domain` hold.
_TOPICS = [
    topic
    for cls in (
        FollowUp.Scheduled,  # type: ignore[attr-defined]
        FollowUp.NotReached,  # type: ignore[attr-defined]
        FollowUp.Reached,  # type: ignore[attr-defined]
        Complaint.Opened,  # type: ignore[attr-defined]
        Complaint.Escalated,  # type: ignore[attr-defined]
        Complaint.Answered,  # type: ignore[attr-defined]
        Complaint.Closed,  # type: ignore[attr-defined]
    )
    for topic in (get_topic(cls), legacy_topic(get_topic(cls)))
    if topic is not None
]


class AfterSalesView:
    """Follow-ups still due and complaints still open, by incident id."""

    def __init__(self, store: RescueStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self.position = 0
        self.due: dict[str, datetime] = {}  # incident -> when the call is due
        # Complaints not yet closed: incident -> [answer due, escalated, answered].
        self.open_complaints: dict[str, list[Any]] = {}
        self._incidents: dict[Any, str] = {}  # aggregate id -> incident id

    def catch_up(self) -> None:
        with self._lock:
            recorder = self._store.recorder
            head = recorder.max_notification_id() or 0
            while self.position < head:
                page = recorder.select_notifications(
                    start=self.position,
                    limit=500,
                    stop=head,
                    topics=_TOPICS,
                    inclusive_of_start=False,
                )
                for notification in page:
                    self._apply(self._store.mapper.to_domain_event(notification))
                if len(page) < 500:
                    break
                self.position = page[-1].id
            self.position = head

    def _apply(self, e: Any) -> None:
        name = type(e).__qualname__
        if name in ("FollowUp.Scheduled", "Complaint.Opened"):
            self._incidents[e.originator_id] = e.incident_id
        if name == "FollowUp.Scheduled":
            self.due[e.incident_id] = e.due_at
        elif name == "FollowUp.NotReached":
            self.due[self._incident(e)] = e.retry_at
        elif name == "FollowUp.Reached":
            self.due.pop(self._incident(e), None)
        elif name == "Complaint.Opened":
            self.open_complaints[e.incident_id] = [e.answer_due_at, False, False]
        elif name == "Complaint.Escalated":
            self.open_complaints.get(self._incident(e), [None, None, None])[1] = True
        elif name == "Complaint.Answered":
            self.open_complaints.get(self._incident(e), [None, None, None])[2] = True
        elif name == "Complaint.Closed":
            self.open_complaints.pop(self._incident(e), None)

    def _incident(self, e: Any) -> str:
        # Later events name only their aggregate; its first event named the incident.
        return self._incidents[e.originator_id]

    def due_before(self, moment: datetime) -> list[str]:
        with self._lock:
            due = sorted((at, i) for i, at in self.due.items() if at <= moment)
        return [incident_id for _, incident_id in due]

    def overdue_complaints(self, moment: datetime) -> list[str]:
        with self._lock:
            return [
                i
                for i, (due, escalated, answered) in self.open_complaints.items()
                if not escalated and not answered and due <= moment
            ]


# -- the service ------------------------------------------------------------------------------


class AfterSales:
    """Claims, follow-ups and complaints; built once, so its worklist view is kept."""

    def __init__(
        self,
        runner: CommandRunner,
        queries: IncidentQueries,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self.runner = runner
        self.store = runner.store
        self.queries = queries
        self.settings = settings
        self.clock = clock
        self.view = AfterSalesView(runner.store)

    def _hours(self, name: str, default: float) -> timedelta:
        return timedelta(hours=float(getattr(self.settings, name, default)))

    def _get(self, aggregate_id: Any, what: str) -> Any:
        return self.runner.load(aggregate_id, what)

    def _exists(self, aggregate_id: Any) -> bool:
        return self.runner.exists(aggregate_id)

    def _records(self, aggregate_id: Any) -> list[dict[str, Any]]:
        return self.queries.event_records(aggregate_id, with_caller=False)

    def on_completion(self, incident: Incident, actor: dict[str, Any]) -> list[Aggregate]:
        """The records a completion brings: the claim or paid-service mark, and the follow-up."""
        incident_id = str(incident.id)
        events = [*self.store.events.get(incident.id), *incident.pending_events]
        record = records_for(incident_id, events, actor)
        followup = FollowUp(
            incident_id=incident_id,
            due_at=self.clock() + self._hours("followup_delay_h", DEFAULT_FOLLOWUP_DELAY_H),
            vehicle={
                k: incident.vehicle.get(k) for k in ("vin", "plate", "model_series", "odometer_km")
            },
            reminders=reminders_for(warranty_policy(), incident.vehicle),
            actor=actor,
        )
        return [record, followup]

    # -- claims --

    def claim(self, incident_id: str) -> dict[str, Any]:
        """The warranty decision and the claim form, as recorded (or as the log stands now)."""
        incident = self.runner.incident(incident_id)
        claim_id, paid_id = claim_uuid(incident_id), paid_service_uuid(incident_id)
        record: Claim | PaidService | None = None
        if self._exists(claim_id):
            record = self._get(claim_id, "claim")
        elif self._exists(paid_id):
            record = self._get(paid_id, "paid service")
        if record is None:
            decision, form = build_claim(
                list(self.store.events.get(incident.id)), warranty_policy()
            )
            return {
                "incident_id": incident_id,
                "status": "not_drafted",
                **decision.as_dict(),
                "form": form,
                "claim": None,
                "events": [],
            }
        return {
            "incident_id": incident_id,
            "status": record.as_public()["status"],
            **record.decision,
            "form": record.form,
            "claim": record.as_public(),
            "events": self._records(record.id),
        }

    def _claim_command(
        self, incident_id: str, change: Any, idempotency: IdempotencyKey | None
    ) -> Result:
        def body() -> Decision:
            self.runner.incident(incident_id)
            claim_id = claim_uuid(incident_id)
            if not self._exists(claim_id):
                if self._exists(paid_service_uuid(incident_id)):
                    raise Conflict("the repair is not covered: it was marked as paid service")
                raise Conflict("no claim has been drafted: the incident is not completed")
            claim: Claim = self._get(claim_id, "claim")
            change(claim)
            return [claim], Result(claim.as_public())

        return self.runner.run(idempotency, body)

    def decide_approval(
        self,
        incident_id: str,
        approved: bool,
        evidence: str,
        actor: Actor,
        idempotency: IdempotencyKey | None = None,
    ) -> Result:
        def change(claim: Claim) -> None:
            decision = settled_decision(claim, approved, evidence, actor.name)
            claim.decide_approval(approved, evidence, decision, actor.as_dict())

        return self._claim_command(incident_id, change, idempotency)

    def submit_claim(
        self, incident_id: str, actor: Actor, idempotency: IdempotencyKey | None = None
    ) -> Result:
        return self._claim_command(
            incident_id, lambda claim: claim.submit(actor.as_dict()), idempotency
        )

    def answer_claim(
        self,
        incident_id: str,
        approved: bool,
        reason: str | None,
        reference: str | None,
        actor: Actor,
        idempotency: IdempotencyKey | None = None,
    ) -> Result:
        def change(claim: Claim) -> None:
            if approved:
                claim.approve(reference, reason, actor.as_dict())
            else:
                claim.reject(reason or "", actor.as_dict())

        return self._claim_command(incident_id, change, idempotency)

    def settle_claim(
        self,
        incident_id: str,
        amount: Decimal,
        reference: str | None,
        actor: Actor,
        idempotency: IdempotencyKey | None = None,
    ) -> Result:
        return self._claim_command(
            incident_id,
            lambda claim: claim.settle(money(amount), reference, actor.as_dict()),
            idempotency,
        )

    # -- follow-ups --

    def followup(self, incident_id: str, *, with_caller: bool) -> dict[str, Any]:
        self.runner.incident(incident_id)
        followup: FollowUp = self._get(followup_uuid(incident_id), "follow-up for this incident")
        return self._followup_public(followup, with_caller=with_caller)

    def _followup_public(self, followup: FollowUp, *, with_caller: bool) -> dict[str, Any]:
        public = followup.as_public()
        if with_caller:
            incident = self.runner.incident(followup.incident_id)
            public["caller"] = self.queries.privacy.open(incident.sealed_caller)
        public["events"] = self._records(followup.id)
        return public

    def worklist(self, moment: datetime | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """The calls due by `moment` (now by default), the longest waiting first."""
        self.view.catch_up()
        due = self.view.due_before(moment or self.clock())[:limit]
        items = []
        for incident_id in due:
            followup: FollowUp = self._get(followup_uuid(incident_id), "follow-up")
            if followup.status == "due":
                items.append(self._followup_public(followup, with_caller=True))
        return items

    def record_call(
        self,
        incident_id: str,
        call: dict[str, Any],
        actor: Actor,
        idempotency: IdempotencyKey | None = None,
    ) -> Result:
        """Records a follow-up call: not reached (call again later), or reached with a score."""
        act = actor.as_dict()

        def body() -> Decision:
            self.runner.incident(incident_id)
            followup: FollowUp = self._get(followup_uuid(incident_id), "follow-up")
            now = self.clock()
            changed: list[Aggregate] = [followup]
            if not call["reached"]:
                retry = now + self._hours("followup_retry_h", DEFAULT_FOLLOWUP_RETRY_H)
                followup.not_reached(call.get("comments"), retry, act)
            else:
                followup.reached(
                    call["satisfaction"], call.get("comments"), bool(call.get("complaint")), act
                )
                if followup.opens_complaint and not self._exists(complaint_uuid(incident_id)):
                    changed.append(
                        self._complaint(
                            incident_id,
                            "explicit" if call.get("complaint") else "low_score",
                            call["satisfaction"],
                            call.get("complaint_text") or call.get("comments"),
                            act,
                        )
                    )
            public = followup.as_public()
            if len(changed) > 1:
                public["complaint"] = changed[1].as_public()  # type: ignore[attr-defined]
            return changed, Result(public)

        return self.runner.run(idempotency, body)

    # -- complaints --

    def _complaint(
        self,
        incident_id: str,
        origin: str,
        satisfaction: int | None,
        text: str | None,
        actor: dict[str, Any],
    ) -> Complaint:
        due = self.clock() + self._hours("complaint_answer_h", DEFAULT_COMPLAINT_ANSWER_H)
        return Complaint(
            incident_id=incident_id,
            origin=origin,
            satisfaction=satisfaction,
            text=text,
            answer_due_at=due,
            actor=actor,
        )

    def complaint(self, incident_id: str) -> dict[str, Any]:
        self.runner.incident(incident_id)
        complaint: Complaint = self._get(complaint_uuid(incident_id), "complaint for this incident")
        return {**complaint.as_public(), "events": self._records(complaint.id)}

    def complaints(self, status: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """Complaints not yet closed (or only the open or answered ones), the earliest due first."""
        self.view.catch_up()
        with self.view._lock:
            chosen = sorted(
                (due, incident_id)
                for incident_id, (due, _, answered) in self.view.open_complaints.items()
                if status is None or status == ("answered" if answered else "open")
            )
        return [
            self._get(complaint_uuid(incident_id), "complaint").as_public()
            for _, incident_id in chosen[:limit]
        ]

    def open_complaint(
        self,
        incident_id: str,
        text: str,
        actor: Actor,
        idempotency: IdempotencyKey | None = None,
    ) -> Result:
        """A complaint the customer made directly (the complaint hotline), not from a call."""

        def body() -> Decision:
            self.runner.incident(incident_id)
            if self._exists(complaint_uuid(incident_id)):
                existing = self._get(complaint_uuid(incident_id), "complaint")
                raise Conflict("this incident has a complaint already", existing.as_public())
            complaint = self._complaint(incident_id, "explicit", None, text, actor.as_dict())
            return [complaint], Result(complaint.as_public(), created=True)

        return self.runner.run(idempotency, body)

    def _complaint_command(
        self, incident_id: str, change: Any, idempotency: IdempotencyKey | None
    ) -> Result:
        def body() -> Decision:
            self.runner.incident(incident_id)
            complaint: Complaint = self._get(complaint_uuid(incident_id), "complaint")
            change(complaint)
            return [complaint], Result(complaint.as_public())

        return self.runner.run(idempotency, body)

    def answer_complaint(
        self, incident_id: str, text: str, actor: Actor, idempotency: IdempotencyKey | None = None
    ) -> Result:
        return self._complaint_command(
            incident_id, lambda c: c.answer_with(text, actor.as_dict()), idempotency
        )

    def close_complaint(
        self,
        incident_id: str,
        resolution: str | None,
        actor: Actor,
        idempotency: IdempotencyKey | None = None,
    ) -> Result:
        return self._complaint_command(
            incident_id, lambda c: c.close(resolution, actor.as_dict()), idempotency
        )

    def escalate_overdue(self) -> int:
        """Escalates every open complaint not answered in time; returns how many."""
        self.view.catch_up()
        now = self.clock()
        escalated = 0
        for incident_id in self.view.overdue_complaints(now):

            def body(incident_id: str = incident_id) -> Decision:
                complaint: Complaint = self._get(complaint_uuid(incident_id), "complaint")
                if not complaint.escalate(now, SYSTEM_ACTOR.as_dict()):
                    return [], Result({})
                return [complaint], Result({})

            self.runner.run(None, body)
            escalated += 1
        return escalated
