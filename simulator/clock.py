"""Simulated time that runs a fixed factor faster than the wall clock.

Everything the simulator schedules (call arrivals, driving, time on scene) is
in simulated seconds; `SimClock` turns them into wall seconds by dividing by
`speed`. At speed 60 a simulated hour passes in a wall minute.

What the server records stays in wall time: it stamps events with its own
clock and rejects GPS fixes from the future, so positions are stamped with
`wall_now()`, not with simulated time. Simulated time only shapes *when*
things happen (the time-of-day profile, durations), never the timestamps sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

__all__ = ["SimClock"]


class SimClock:
    """Simulated time starting at `start`, running `speed` times faster than real time.

    `hurry()` makes every pending and later `sleep` return at once: used at the
    end of a run so agents finish their last steps without waiting out drives
    and repairs. The clock itself keeps its pace.
    """

    def __init__(
        self,
        start: datetime,
        speed: float = 1.0,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        if start.tzinfo is None:
            raise ValueError("start must carry a time zone")
        self.start = start
        self.speed = float(speed)
        self._monotonic = monotonic
        self._t0 = monotonic()
        self._hurry: asyncio.Event | None = None
        self._hurried = False

    def elapsed(self) -> float:
        """Simulated seconds since the start."""
        return (self._monotonic() - self._t0) * self.speed

    def now(self) -> datetime:
        """The simulated moment (in the start's time zone)."""
        return self.start + timedelta(seconds=self.elapsed())

    def at(self, sim_seconds: float) -> datetime:
        """The simulated moment `sim_seconds` after the start."""
        return self.start + timedelta(seconds=sim_seconds)

    @staticmethod
    def wall_now() -> datetime:
        return datetime.now(UTC)

    def wall_seconds(self, sim_seconds: float) -> float:
        return max(0.0, sim_seconds) / self.speed

    @property
    def hurried(self) -> bool:
        return self._hurried

    def hurry(self) -> None:
        self._hurried = True
        if self._hurry is not None:
            self._hurry.set()

    async def sleep(self, sim_seconds: float) -> None:
        """Waits `sim_seconds` of simulated time (returns at once after `hurry()`)."""
        if self._hurried or sim_seconds <= 0:
            await asyncio.sleep(0)
            return
        if self._hurry is None:
            self._hurry = asyncio.Event()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._hurry.wait(), timeout=self.wall_seconds(sim_seconds))

    async def sleep_until(self, sim_elapsed: float) -> None:
        """Waits until `sim_elapsed` simulated seconds after the start."""
        await self.sleep(sim_elapsed - self.elapsed())
