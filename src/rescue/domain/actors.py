"""Who did something: every event records its actor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Actor:
    """A person in a role, a van's crew, or the system itself (timers, auto re-offers)."""

    role: str  # a Role value, or "system"
    name: str
    van_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"role": self.role, "name": self.name, "van_id": self.van_id}


SYSTEM_ACTOR = Actor(role=SYSTEM, name="rescue")
