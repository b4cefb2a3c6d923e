"""The customer's text messages as an outbox of the log.

Which events make which message (`TEMPLATE_OF`): a van accepting the job
(help is on the way, with the live tracking link), the van arriving, the job
completed (with the promise of a follow-up call), a follow-up call that
did not reach the customer (when we will call again), and an operator asking
for the tracking link to be sent again. The outbox target
follows the log (rescue.services.delivery) and, for each such event, records
the message (`Notification.Decided`, keyed by the event, so deciding again
finds it), sends it through the gateway unless it was settled already, and
records the attempt and its outcome. A gateway outage holds the messages back
in order and loses none; a crash between sending and recording sends that one
message again with the same key (at least once).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from rescue.domain.followups import FollowUp, followup_uuid
from rescue.domain.idempotency import Result
from rescue.domain.ids import tracking_link_uuid
from rescue.domain.incidents import Incident
from rescue.domain.notifications import (
    REJECTED,
    SENT,
    Notification,
    notification_key,
    notification_uuid,
)
from rescue.domain.validation import CHINA_TZ
from rescue.services.delivery import DeliveryFailed, LogEntry, event_type
from rescue.services.runner import CommandRunner, Decision
from rescue.services.sms import SmsGateway, Templates
from rescue.services.tracking_links import TrackingLinks, hash_code
from rescue.store.privacy import PersonalData, is_erased

log = logging.getLogger("rescue.notifications")
TARGET = "sms"
CHANNEL = "sms"

# The event type that decides each message, and the message's template.
TEMPLATE_OF: dict[str, str] = {
    "Incident.Accepted": "help_on_the_way",
    "Incident.Arrived": "van_arrived",
    "Incident.Completed": "job_completed",
    "FollowUp.NotReached": "followup_reminder",
    "TrackingLink.ResendRequested": "tracking_link",
}

LinkFor = Callable[[str], str | None]  # an incident's live tracking URL, if it has one


class NotificationTarget:
    """The SMS outbox as a delivery target."""

    name = TARGET

    def __init__(
        self,
        runner: CommandRunner,
        privacy: PersonalData,
        gateway: SmsGateway,
        templates: Templates,
        link_for: LinkFor,
        followup_hours: float,
    ) -> None:
        self._runner = runner
        self._privacy = privacy
        self._gateway = gateway
        self._templates = templates
        self._link_for = link_for
        self._followup_hours = followup_hours

    def wants(self, entry: LogEntry) -> bool:
        return entry.event_type in TEMPLATE_OF

    def deliver(self, entry: LogEntry, attempt: int) -> None:
        notification = self._decided(entry)
        if notification.settled:
            return  # sent (or refused) before the cursor moved past it: not again
        incident = self._runner.incident(notification.incident_id)
        phone = self._phone(incident)
        if phone is None:
            self._record(notification.id, REJECTED, "the caller's phone number cannot be read")
            return
        params = {**notification.params, "link": self._link_for(notification.incident_id)}
        text = self._templates.render(notification.template, params)
        try:
            gateway_id = self._gateway.send(phone, text, notification.key)
        except DeliveryFailed as failure:
            self._record(
                notification.id, REJECTED if failure.permanent else "failed", failure.detail
            )
            raise
        self._record(notification.id, SENT, None, gateway_id)

    def _phone(self, incident: Incident) -> str | None:
        try:
            caller = self._privacy.open(incident.sealed_caller)
        except Exception:
            return None  # no key to read it with
        if is_erased(caller):
            return None  # the caller asked to be forgotten
        phone = caller.get("phone")
        return str(phone) if phone else None

    def _decided(self, entry: LogEntry) -> Notification:
        template = TEMPLATE_OF[entry.event_type]
        key = notification_key(entry.originator_id, entry.originator_version, template)
        notification_id = notification_uuid(key)
        found: list[Notification] = []

        def decide() -> Decision:
            found.clear()
            if self._runner.exists(notification_id):
                found.append(self._runner.load(notification_id, "notification"))
                return [], Result({})
            incident_id, params = self._facts(entry)
            created = Notification(
                key=key,
                incident_id=incident_id,
                channel=CHANNEL,
                template=template,
                params=params,
                source_position=entry.position,
            )
            found.append(created)
            return [created], Result({}, created=True)

        self._runner.run(None, decide)
        return found[0]

    def _facts(self, entry: LogEntry) -> tuple[str, dict[str, Any]]:
        """The incident the message is about, and what its template needs (no personal data)."""
        event: Any = self._runner.store.mapper.to_domain_event(
            StoredEvent(entry.originator_id, entry.originator_version, entry.topic, entry.state)
        )
        if entry.event_type == "TrackingLink.ResendRequested":
            return str(event.incident_id), {}
        if entry.event_type == "FollowUp.NotReached":
            followup: FollowUp = self._runner.load(entry.originator_id, "follow-up")
            retry_at: datetime = event.retry_at
            return followup.incident_id, {
                "retry_at": retry_at.astimezone(CHINA_TZ).strftime("%m-%d %H:%M")
            }
        incident_id = str(entry.originator_id)
        incident = self._runner.incident(incident_id)
        params: dict[str, Any] = {}
        if incident.van_id:
            params["van_id"] = incident.van_id
            params["call_sign"] = self._runner.van(incident.van_id).call_sign
        if entry.event_type == "Incident.Accepted":
            params["eta_min"] = round(float(event.eta_min))
        if entry.event_type == "Incident.Completed":
            params["followup_hours"] = round(self._followup_hours)
        return incident_id, params

    def _record(
        self,
        notification_id: UUID,
        outcome: str,
        detail: str | None,
        gateway_id: str | None = None,
    ) -> None:
        def decide() -> Decision:
            notification: Notification = self._runner.load(notification_id, "notification")
            notification.record_attempt(outcome, detail, gateway_id)
            return [notification], Result({})

        self._runner.run(None, decide)

    def flush(self) -> None:
        pass  # every attempt is an event, recorded as it happens

    def health(self, failing: bool, detail: str | None) -> None:
        if failing:
            log.warning("the SMS gateway is failing: %s; messages wait in order", detail)
        else:
            log.info("the SMS gateway sends again")

    def close(self) -> None:
        self._gateway.close()


class NotificationQueries:
    """The messages of one incident, found from its events (each message's key names its event)."""

    def __init__(self, runner: CommandRunner, links: TrackingLinks) -> None:
        self._runner = runner
        self._links = links

    def for_incident(self, incident_id: str) -> list[dict[str, Any]]:
        incident = self._runner.incident(incident_id)
        keys = self._keys(incident.id)
        link = tracking_link_uuid(hash_code(self._links.code_for(incident_id)))
        for related in (followup_uuid(incident_id), link):
            if self._runner.exists(related):
                keys += self._keys(related)
        found: list[dict[str, Any]] = []
        for key in keys:
            notification_id = notification_uuid(key)
            if self._runner.exists(notification_id):
                notification: Notification = self._runner.load(notification_id, "notification")
                found.append(notification.as_public())
        return found

    def _keys(self, aggregate_id: UUID) -> list[str]:
        keys = []
        for stored in self._runner.store.recorder.select_events(aggregate_id):
            template = TEMPLATE_OF.get(event_type(stored.topic))
            if template is not None:
                keys.append(notification_key(aggregate_id, stored.originator_version, template))
        return keys
