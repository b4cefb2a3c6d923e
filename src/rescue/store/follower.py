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
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Notification

from rescue.store.codec import POSITION_TOPICS, PositionFix, position_fix

Handler = Callable[[int, Any], None]
# (log position, track id, the fix's fields as stored): GPS fixes without their events.
FixHandler = Callable[[int, UUID, PositionFix], None]
# (originator id, originator version) of every event delivered, before its handler.
Observer = Callable[[UUID, int], None]
# (originator id, originator version, the fix's fields if the event is a GPS fix, else None)
# of every event delivered, after its handler.
Listener = Callable[[UUID, int, PositionFix | None], None]
log = logging.getLogger("rescue.store.follower")


class LogFollower:
    def __init__(
        self,
        app: Application[Any],
        handle: Handler,
        handle_fix: FixHandler | None = None,
        observe: Observer | None = None,
    ) -> None:
        self._app = app
        self._handle = handle
        self._handle_fix = handle_fix
        self._observe = observe
        self._reached = threading.Condition()
        self._waiting = 0  # threads in wait_for
        self._stopping = threading.Event()
        self._subscription: Any = None
        self._listeners: tuple[Listener, ...] = ()
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

    @property
    def following(self) -> bool:
        """Whether the follower has been started (and not stopped)."""
        return self._thread is not None and not self._stopping.is_set()

    def listen(self, listener: Listener) -> None:
        """Tells `listener` of every event delivered from now on, on the follower's thread."""
        self._listeners = (*self._listeners, listener)

    def unlisten(self, listener: Listener) -> None:
        # Compared by ==: a bound method is a new object each time it is looked up.
        self._listeners = tuple(known for known in self._listeners if known != listener)

    def catch_up(self, timeout: float = 30.0) -> None:
        """Returns once everything recorded so far (by any process) has been applied."""
        head = self._app.recorder.max_notification_id() or 0
        self.wait_for(head, timeout)

    def wait_for(self, position: int, timeout: float = 30.0) -> bool:
        with self._reached:
            # Counted before the position is looked at: the follower, which moves the
            # position first and counts the waiters after, then cannot miss one.
            self._waiting += 1
            try:
                return self._reached.wait_for(
                    lambda: self.position >= position or self._stopping.is_set(), timeout
                )
            finally:
                self._waiting -= 1

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                with self._app.recorder.subscribe(gt=self.position) as subscription:
                    self._subscription = subscription
                    if self._stopping.is_set():
                        return
                    for notification in subscription:
                        self.deliver(notification)
                        self.position = notification.id
                        # Most positions nobody waits for (a fleet's fixes): no lock then.
                        if self._waiting:
                            with self._reached:
                                self._reached.notify_all()
            except Exception:
                if self._stopping.is_set():
                    return
                log.exception("following the event log failed; resubscribing")
                self._stopping.wait(1.0)

    def deliver(self, notification: Notification) -> None:
        """Hands one notification to its handler, GPS fixes to `handle_fix` if there is one.

        Every process decodes every fix of the fleet for its board: with a handler
        for them, their fields are read straight from the stored JSON (deciphered
        and decompressed as the mapper would) instead of by the library's decoder.
        `observe` hears of every event first, so whoever waits for the position
        (`wait_for`) finds it observed; the listeners (`listen`) hear of it last,
        a GPS fix with its fields.
        """
        originator_id = notification.originator_id
        if not isinstance(originator_id, UUID):
            originator_id = UUID(str(originator_id))
        if self._observe is not None:
            self._observe(originator_id, notification.originator_version)
        fix: PositionFix | None = None
        if notification.topic in POSITION_TOPICS and (self._handle_fix or self._listeners):
            fix = position_fix(self._app.mapper, notification.state)
        if fix is not None and self._handle_fix is not None:
            self._handle_fix(notification.id, originator_id, fix)
        else:
            self._handle(notification.id, self._app.mapper.to_domain_event(notification))
        for listener in self._listeners:
            listener(originator_id, notification.originator_version, fix)
