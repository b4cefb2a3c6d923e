"""Erasure of a caller's personal data by destroying their key (crypto-shredding).

The log is never rewritten (the hash chain covers every event as stored):
the caller's key is deleted from the key table, so their name and phone in
every event, read model, export and backup made afterwards can no longer be
opened, and an `Erasure.Erased` event records who erased, when and why. A
backup taken before the erasure still holds the key, wrapped by the master
key: that is the residual risk, until such backups expire.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.utils import get_topic

from rescue.domain.actors import Actor
from rescue.domain.errors import Invalid
from rescue.domain.idempotency import Result
from rescue.domain.incidents import Incident
from rescue.domain.privacy import Erasure
from rescue.domain.validation import check_phone
from rescue.services.runner import CommandRunner, Decision
from rescue.store.codec import state_document
from rescue.store.legacy_topics import legacy_topic
from rescue.store.privacy import PER_CALLER, PersonalData

# Rows read at a time while looking for values sealed with the shared key.
_SCAN_PAGE = 1000


class PrivacyService:
    def __init__(self, runner: CommandRunner, privacy: PersonalData) -> None:
        self.runner = runner
        self.store = runner.store
        self.privacy = privacy

    def erase(self, phone: str, actor: Actor, reason: str = "") -> dict[str, Any]:
        """Erases the caller with this phone; answers what was done, never the data.

        Erasing a caller that has no key (already erased, or never called)
        still records the request, with nothing destroyed. Raises Invalid for a
        phone that is not a number.
        """
        try:
            number = check_phone(phone)
        except ValueError as error:
            raise Invalid("phone", str(error)) from error
        # The key goes first: if recording fails afterwards the data is still
        # gone, and erasing again records it (with nothing left to destroy).
        destroyed, withheld = self.privacy.erase(number, self._shared_key_values())

        def decide() -> Decision:
            erasure = Erasure(
                actor=actor.as_dict(),
                reason=reason,
                keys_destroyed=destroyed,
                values_withheld=withheld,
            )
            return [erasure], Result(erasure.as_public(), created=True)

        return self.runner.run(None, decide).body

    def _shared_key_values(self) -> list[str]:
        """Callers sealed with the one key shared before per-caller keys: a scan of the calls."""
        topic = get_topic(Incident.Reported)  # type: ignore[attr-defined]
        topics = [topic, *filter(None, [legacy_topic(topic)])]
        recorder = self.store.recorder
        values: list[str] = []
        start = 1
        while True:
            rows = recorder.select_notifications(start, _SCAN_PAGE, topics=topics)
            for row in rows:
                sealed = state_document(row.state, self.store.mapper).get("sealed_caller")
                if isinstance(sealed, str) and not sealed.startswith(PER_CALLER + ":"):
                    values.append(sealed)
            if len(rows) < _SCAN_PAGE:
                return values
            start = rows[-1].id + 1
