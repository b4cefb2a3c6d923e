"""Messages between the operator and a van's crew: about an incident, or to the van itself.

Sending and reading are commands like the steps (one transaction, retried on
conflict, idempotent with a key): a tablet that sends a queued message again
after a lost answer records it once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
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


class MessageService:
    def __init__(self, runner: CommandRunner) -> None:
        self.runner = runner

    # -- about an incident ---------------------------------------------------------

    def send_about_incident(
        self,
        incident_id: str,
        text: str,
        principal: Principal,
        idempotency: IdempotencyKey | None = None,
    ) -> Result:
        """Sends a message about the incident (operator, or the crew of its van)."""
        return self._send(lambda: self.runner.incident(incident_id), text, principal, idempotency)

    def read_about_incident(
        self,
        incident_id: str,
        message_id: str,
        principal: Principal,
        idempotency: IdempotencyKey | None = None,
    ) -> Result:
        """Records that the other side read the message (once; again is no news)."""
        return self._read(
            lambda: self.runner.incident(incident_id), message_id, principal, idempotency
        )

    def incident_messages(self, incident_id: str, principal: Principal) -> list[dict[str, Any]]:
        incident = self.runner.incident(incident_id)
        if principal.role not in DESK and (
            principal.role != Role.CREW or principal.van_id != incident.van_id
        ):
            raise Forbidden("messages of an incident are for the desk and the crew of its van")
        return [_shown(incident, m) for m in messages_of(incident)]

    # -- to a van ---------------------------------------------------------------------

    def send_to_van(
        self,
        van_id: str,
        text: str,
        principal: Principal,
        idempotency: IdempotencyKey | None = None,
    ) -> Result:
        """Sends a message in the van's own conversation (operator, or that van's crew)."""
        return self._send(lambda: self.runner.van(van_id), text, principal, idempotency)

    def read_to_van(
        self,
        van_id: str,
        message_id: str,
        principal: Principal,
        idempotency: IdempotencyKey | None = None,
    ) -> Result:
        return self._read(lambda: self.runner.van(van_id), message_id, principal, idempotency)

    def van_messages(self, van_id: str, principal: Principal) -> list[dict[str, Any]]:
        if principal.role not in DESK and (
            principal.role != Role.CREW or principal.van_id != van_id
        ):
            raise Forbidden("a van's messages are for the desk and that van's crew")
        van = self.runner.van(van_id)
        return [_shown(van, m) for m in messages_of(van)]

    # -- the commands, for either kind of conversation ------------------------------------

    def _send(
        self,
        load: Callable[[], Any],
        text: str,
        principal: Principal,
        idempotency: IdempotencyKey | None,
    ) -> Result:
        side_of(principal.role)
        actor = principal.actor.as_dict()

        def decide() -> Decision:
            holder = load()
            message_id = uuid.uuid4().hex
            holder.send_message(message_id, text, actor)
            return [holder], Result(_shown(holder, find(messages_of(holder), message_id)), True)

        return self.runner.run(idempotency, decide)

    def _read(
        self,
        load: Callable[[], Any],
        message_id: str,
        principal: Principal,
        idempotency: IdempotencyKey | None,
    ) -> Result:
        side_of(principal.role)
        actor = principal.actor.as_dict()

        def decide() -> Decision:
            holder = load()
            changed = holder.read_message(message_id, actor)
            message = _shown(holder, find(messages_of(holder), message_id))
            return ([holder] if changed else []), Result(message)

        return self.runner.run(idempotency, decide)


def _shown(holder: Any, message: dict[str, Any]) -> dict[str, Any]:
    """A message as readers get it: an incident's names its incident."""
    if isinstance(holder, Incident):
        return {**message, "incident_id": str(holder.id)}
    return dict(message)
