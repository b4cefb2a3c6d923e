"""What the services need from the live board, which the read side keeps.

The board is built by the composition root and handed in, so the write side
never imports the read side: any object with these methods will do.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from rescue.domain.dispatch import DispatchParams, FleetIndex, VanSnapshot


class LiveBoard(Protocol):
    def fleet_index(self, now: datetime, params: DispatchParams) -> FleetIndex:
        """The vans that may take a job now, indexed for the nearest-van search."""

    def van_snapshot(self, van_id: str) -> VanSnapshot | None:
        """One van's place and state as the board knows it, or None if it has not seen it."""

    def queued(self) -> list[dict[str, Any]]:
        """Queued incidents, most urgent then oldest first."""

    def free_vans_exist(self) -> bool:
        """Whether any van on duty is free."""

    def offers_due(self, now: datetime) -> list[str]:
        """Incidents whose offer has gone unanswered past its time."""

    def arrivals_overdue(self, now: datetime, margin_min: float) -> list[tuple[str, str, float]]:
        """(incident, van, minutes late) of accepted jobs not on scene by their ETA plus margin."""
