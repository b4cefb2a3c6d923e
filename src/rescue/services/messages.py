"""Messages between the operator and a van's crew: about an incident, or to the van itself.

Sending and reading are commands like the steps (one transaction, retried on
conflict, idempotent with a key): a tablet that sends a queued message again
after a lost answer records it once.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from rescue.domain.access import Principal
from rescue.domain.errors import Forbidden
from rescue.domain.idempotency import IdempotencyKey, Result
from rescue.domain.incidents import Incident
from rescue.domain.messages import find, messages_of, side_of
from rescue.domain.vocabulary import Role
from rescue.services.runner import CommandRunner, Decision

# Roles that may read every conversation (the crew reads its own van's).
DESK = frozenset({Role.OPERATOR, Role.AUDITOR})


class Subject(StrEnum):
    """What a conversation is about: an incident, or the van itself."""

    INCIDENT = "incident"
    VAN = "van"


class MessageService:
    def __init__(self, runner: CommandRunner) -> None:
        self.runner = runner

    def send(
        self,
        subject: Subject,
        subject_id: str,
        text: str,
        principal: Principal,
        idempotency: IdempotencyKey | None = None,
    ) -> Result:
        """Sends a message in the conversation (operator, or the crew of the van concerned)."""
        side_of(principal.role)
        actor = principal.actor.as_dict()

        def decide() -> Decision:
            holder = self._load(subject, subject_id)
            message_id = uuid.uuid4().hex
            holder.send_message(message_id, text, actor)
            return [holder], Result(_shown(holder, find(messages_of(holder), message_id)), True)

        return self.runner.run(idempotency, decide)

    def read(
        self,
        subject: Subject,
        subject_id: str,
        message_id: str,
        principal: Principal,
        idempotency: IdempotencyKey | None = None,
    ) -> Result:
        """Records that the other side read the message (once; again is no news)."""
        side_of(principal.role)
        actor = principal.actor.as_dict()

        def decide() -> Decision:
            holder = self._load(subject, subject_id)
            changed = holder.read_message(message_id, actor)
            message = _shown(holder, find(messages_of(holder), message_id))
            return ([holder] if changed else []), Result(message)

        return self.runner.run(idempotency, decide)

    def conversation(
        self, subject: Subject, subject_id: str, principal: Principal
    ) -> list[dict[str, Any]]:
        """The messages, oldest first: for the desk, and the crew of the van concerned."""
        if subject is Subject.VAN and principal.role not in DESK:
            # A crew learns nothing of another van, not even whether it exists.
            _check_crew_of(principal, subject_id, "a van's messages")
        holder = self._load(subject, subject_id)
        if subject is Subject.INCIDENT and principal.role not in DESK:
            _check_crew_of(principal, holder.van_id, "messages of an incident")
        return [_shown(holder, m) for m in messages_of(holder)]

    def _load(self, subject: Subject, subject_id: str) -> Any:
        if subject is Subject.INCIDENT:
            return self.runner.incident(subject_id)
        return self.runner.van(subject_id)


def _check_crew_of(principal: Principal, van_id: str | None, what: str) -> None:
    if principal.role != Role.CREW or principal.van_id != van_id:
        raise Forbidden(f"{what} are for the desk and the crew of that van")


def _shown(holder: Any, message: dict[str, Any]) -> dict[str, Any]:
    """A message as readers get it: an incident's names its incident."""
    if isinstance(holder, Incident):
        return {**message, "incident_id": str(holder.id)}
    return dict(message)
