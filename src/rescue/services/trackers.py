"""What a van's tracker app says besides its fixes: an SOS, and a report refused and why.

Both are rare and belong in the van's own history, so they are events of the
`Van` (the fixes themselves go to its track through the position writer).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rescue.domain.actors import Actor
from rescue.domain.idempotency import Result
from rescue.services.board import LiveBoard
from rescue.services.runner import CommandRunner, Decision


class TrackerService:
    def __init__(self, runner: CommandRunner, board: LiveBoard) -> None:
        self.runner = runner
        self.board = board

    def refuse_fix(
        self, van_id: str, kind: str, reason: str, received: dict[str, Any], actor: Actor
    ) -> Result:
        """Records a tracker's report that was acknowledged but not used as a fix."""

        def decide() -> Decision:
            van = self.runner.van(van_id)
            van.refuse_fix(kind, reason, received, actor.as_dict())
            return [van], Result({"refused": kind, "reason": reason})

        return self.runner.run(None, decide)

    def raise_sos(
        self,
        van_id: str,
        alarm: str,
        at: tuple[float, float] | None,
        recorded_at: datetime,
        actor: Actor,
    ) -> Result:
        """Records an SOS from the van's tracker; without a fix in the report, where the
        board last saw the van."""
        if at is None:
            seen = self.board.van_snapshot(van_id)
            if seen is not None and seen.position_lat is not None:
                assert seen.position_lon is not None
                at = (seen.position_lat, seen.position_lon)
        lat, lon = at if at is not None else (None, None)

        def decide() -> Decision:
            van = self.runner.van(van_id)
            van.raise_sos(alarm, lat, lon, recorded_at, actor.as_dict())
            return [van], Result({"sos": alarm})

        return self.runner.run(None, decide)
