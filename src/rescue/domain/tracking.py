"""The customer's tracking link: issued when a van is offered, resent on an operator's request.

The link's code is a secret the customer holds; the log keeps only its
SHA-256 (`code_hash`), which is also what names the aggregate, so a code is
looked up without any index and a leaked log or backup opens no customer's
page. `serial` says which code of the incident this is: the server derives
the code again from its secret, the incident and the serial whenever the link
has to be shown or sent again.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate, event

from rescue.domain.ids import tracking_link_uuid


class TrackingLink(Aggregate):
    @staticmethod
    def create_id(code_hash: str, **_: Any) -> Any:
        return tracking_link_uuid(code_hash)

    @event("Issued")
    def __init__(
        self, code_hash: str, incident_id: str, serial: int, actor: dict[str, Any]
    ) -> None:
        self.code_hash = code_hash
        self.incident_id = incident_id
        self.serial = serial
        self.resends = 0

    def request_resend(self, actor: dict[str, Any]) -> None:
        """An operator asks for the link to be sent to the customer again."""
        self._resend_requested(incident_id=self.incident_id, actor=actor)

    @event("ResendRequested")
    def _resend_requested(self, incident_id: str, actor: dict[str, Any]) -> None:
        # The incident is named in the event itself so a log follower (the
        # notifications outbox) can act on it without loading the link.
        self.resends += 1
