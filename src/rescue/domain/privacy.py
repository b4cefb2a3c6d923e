"""Erasures of callers' personal data: who asked, when and why, never whose data.

The data itself is erased by destroying the caller's key (rescue.store.caller_keys);
this aggregate is the record that it was done. It holds no name, no phone and
no hash of either, so the record of an erasure cannot point back to the caller.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate, event


class Erasure(Aggregate):
    """One request to erase a caller's personal data, carried out when recorded."""

    @event("Erased")
    def __init__(
        self, actor: dict[str, Any], reason: str, keys_destroyed: int, values_withheld: int
    ) -> None:
        self.actor = actor
        self.reason = reason
        self.keys_destroyed = keys_destroyed
        self.values_withheld = values_withheld

    def as_public(self) -> dict[str, Any]:
        return {
            "erasure_id": str(self.id),
            "at": self.created_on.isoformat(),
            "by": self.actor,
            "reason": self.reason,
            "keys_destroyed": self.keys_destroyed,
            "values_withheld": self.values_withheld,
        }
