"""A duty a server runs every few seconds in a thread of its own, in one process of the store."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from rescue.store.leader import Leadership

log = logging.getLogger("rescue.background")


class PeriodicDuty:
    """A daemon thread that calls `action` every `interval_s`.

    With a `leadership`, only the process elected among those of the store acts,
    and a process that outlives the holder takes the duty over at its next round.
    A failing round is logged and the next one tries again: a duty must survive
    a store hiccup.
    """

    def __init__(
        self,
        name: str,
        action: Callable[[], object],
        *,
        interval_s: float,
        leadership: Leadership | None = None,
    ) -> None:
        self.name = name
        self._action = action
        self._interval_s = interval_s
        self._leadership = leadership
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"rescue-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        if self._leadership is not None:
            self._leadership.release()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval_s):
            if self._leadership is not None and not self._leadership.held():
                continue
            try:
                self._action()
            except Exception:
                log.exception("%s failed; trying again in %.0f s", self.name, self._interval_s)
