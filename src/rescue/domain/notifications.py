"""Messages to the customer, decided from the record and sent by the outbox.

Each message is decided by one event of the log (a van accepted the job, it
arrived, the job was completed, the follow-up call did not reach the
customer) and named by a key derived from that event and the template: the
same event can never make two messages, whichever process or retry decides
it. Every attempt to send it and its outcome is an event of the message.
What a message says is rendered when it is sent, from its template and
parameters; the customer's phone number is read from the sealed caller then
and never written here.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from rescue.domain.ids import NAMESPACE

PENDING = "pending"
SENT = "sent"
REJECTED = "rejected"  # the gateway refused it for good (a bad number): not retried


def notification_key(source_id: UUID | str, source_version: int, template: str) -> str:
    """The message's key: the deciding event (aggregate and version) and the template."""
    return f"{source_id}:{source_version}:{template}"


def notification_uuid(key: str) -> UUID:
    return uuid5(NAMESPACE, f"notification:{key}")


class Notification(Aggregate):
    """One message to the customer of one incident, from decision to sent (or refused)."""

    @staticmethod
    def create_id(key: str, **_: Any) -> UUID:
        return notification_uuid(key)

    @event("Decided")
    def __init__(
        self,
        key: str,
        incident_id: str,
        channel: str,
        template: str,
        params: dict[str, Any],
        source_position: int,
    ) -> None:
        self.key = key
        self.incident_id = incident_id
        self.channel = channel
        self.template = template
        self.params = dict(params)
        self.source_position = source_position
        self.status = PENDING
        self.attempts = 0
        self.last_error: str | None = None
        self.gateway_id: str | None = None

    @property
    def settled(self) -> bool:
        return self.status != PENDING

    def record_attempt(
        self, outcome: str, detail: str | None, gateway_id: str | None = None
    ) -> None:
        """One try at sending: `sent`, `failed` (tried again later) or `rejected` (given up)."""
        if outcome not in (SENT, REJECTED, "failed"):
            raise ValueError(f"unknown outcome {outcome!r}")
        self._attempted(
            attempt=self.attempts + 1, outcome=outcome, detail=detail, gateway_id=gateway_id
        )

    @event("Attempted")
    def _attempted(
        self, attempt: int, outcome: str, detail: str | None, gateway_id: str | None
    ) -> None:
        self.attempts = attempt
        if outcome == "failed":
            self.last_error = detail
        else:
            self.status = outcome
            self.last_error = detail if outcome == REJECTED else None
            self.gateway_id = gateway_id

    def as_public(self) -> dict[str, Any]:
        return {
            "notification_id": str(self.id),
            "key": self.key,
            "incident_id": self.incident_id,
            "channel": self.channel,
            "template": self.template,
            "status": self.status,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "decided_at": self.created_on.isoformat(),
            "at": self.modified_on.isoformat(),
        }
