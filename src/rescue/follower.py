"""Following the application's event log from a remembered position.

The SQLite recorder has no subscription, and an in-process view must also see
what other processes wrote; so views here pull: `catch_up()` reads the
notifications after the last position it applied. Callers wake it after each
local commit and on a timer for writes from elsewhere.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from eventsourcing.application import Application

Handler = Callable[[int, Any], None]


class LogFollower:
    """Applies each notification once, in log order, to `handle(position, event)`."""

    def __init__(self, app: Application, handle: Handler, *, page_size: int = 1000) -> None:
        self._app = app
        self._handle = handle
        self._page_size = page_size
        self._lock = threading.Lock()
        self.position = 0

    def catch_up(self) -> int:
        """Applies everything recorded so far; returns how many events were applied."""
        applied = 0
        with self._lock:
            while True:
                page = self._app.recorder.select_notifications(
                    start=self.position, limit=self._page_size, inclusive_of_start=False
                )
                for notification in page:
                    event = self._app.mapper.to_domain_event(notification)
                    self._handle(notification.id, event)
                    self.position = notification.id
                applied += len(page)
                if len(page) < self._page_size:
                    return applied
