"""Following the application's event log live, in one thread per process.

The follower subscribes to the log after the last position it applied
(PostgreSQL: the library's LISTEN/NOTIFY subscription; SQLite: the
subscription of rescue.store.recorders) and hands each event, in log order and
once, to `handle(position, event)`. Commands that must read their own writes
wait for the follower to reach the position they wrote (`wait_for`).

Failure mode: if the subscription fails (the database went away), the
follower logs it and subscribes again from where it stopped, so no
notification is skipped or applied twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from eventsourcing.application import Application

Handler = Callable[[int, Any], None]
log = logging.getLogger("rescue.store.follower")


class LogFollower:
    def __init__(self, app: Application[Any], handle: Handler) -> None:
        self._app = app
        self._handle = handle
        self._reached = threading.Condition()
        self._stopping = threading.Event()
        self._subscription: Any = None
        self.position = 0
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="log-follower", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        subscription = self._subscription
        if subscription is not None:
            subscription.stop()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def catch_up(self, timeout: float = 30.0) -> None:
        """Returns once everything recorded so far (by any process) has been applied."""
        head = self._app.recorder.max_notification_id() or 0
        self.wait_for(head, timeout)

    def wait_for(self, position: int, timeout: float = 30.0) -> bool:
        with self._reached:
            return self._reached.wait_for(
                lambda: self.position >= position or self._stopping.is_set(), timeout
            )

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                with self._app.recorder.subscribe(gt=self.position) as subscription:
                    self._subscription = subscription
                    if self._stopping.is_set():
                        return
                    for notification in subscription:
                        event = self._app.mapper.to_domain_event(notification)
                        self._handle(notification.id, event)
                        with self._reached:
                            self.position = notification.id
                            self._reached.notify_all()
            except Exception:
                if self._stopping.is_set():
                    return
                log.exception("following the event log failed; resubscribing")
                self._stopping.wait(1.0)
