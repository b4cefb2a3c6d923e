"""Application recorders: the library's, plus a live subscription on SQLite.

`SQLiteApplicationRecorder.subscribe()` is not implemented by the library, yet
the embedded store needs live projections like PostgreSQL has. The
subscription here reuses the library's pull loop (`ListenNotifySubscription`:
read the notifications after the last one seen, whenever woken); what wakes it
is this recorder's own commits (at once, in this process) and a short poll
(writes from other processes, which SQLite cannot announce).

The hash chain (see rescue.store.chain, when present) extends these classes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import (
    ApplicationRecorder,
    ListenNotifySubscription,
    StoredEvent,
    Subscription,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

# How often a SQLite subscription looks for other processes' writes.
POLL_INTERVAL_S = 0.2

# A stored event as the events table holds it: the originator id as 32 lower-case hex
# digits, the version, the topic and the encoded state.
EventRow = tuple[str, int, str, bytes]


def originator_key(originator_id: UUID | str) -> str:
    """An originator id as the events table and the hash chain hold it: 32 lower-case hex."""
    return originator_id.hex if isinstance(originator_id, UUID) else UUID(str(originator_id)).hex


def event_rows(stored_events: Iterable[StoredEvent]) -> list[EventRow]:
    """The library's stored events as rows."""
    return [
        (originator_key(s.originator_id), s.originator_version, s.topic, s.state)
        for s in stored_events
    ]


class RowRecorder(Protocol):
    """A recorder that also takes events already encoded as rows (GPS reports: the volume)."""

    def insert_rows(self, rows: Sequence[EventRow]) -> Sequence[int]:
        """Inserts the rows in one transaction, in order; returns their notification ids."""
        ...


class SubscribableSQLiteRecorder(SQLiteApplicationRecorder):
    """Announces each commit to this process's subscriptions."""

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name)
        self._subscribers: set[SQLiteSubscription] = set()
        self._subscribers_lock = threading.Lock()

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super().insert_events(stored_events, **kwargs)
        self.announce()
        return ids

    def announce(self) -> None:
        """Wakes every subscription of this recorder (called after each commit)."""
        with self._subscribers_lock:
            subscribers = list(self._subscribers)
        for subscription in subscribers:
            subscription.wake()

    def subscribe(
        self, gt: int | None = None, topics: Sequence[str] = ()
    ) -> Subscription[ApplicationRecorder]:
        subscription = SQLiteSubscription(self, gt=gt, topics=topics)
        with self._subscribers_lock:
            self._subscribers.add(subscription)
        return subscription

    def _forget(self, subscription: SQLiteSubscription) -> None:
        with self._subscribers_lock:
            self._subscribers.discard(subscription)


class SQLiteSubscription(ListenNotifySubscription[SubscribableSQLiteRecorder]):
    """Iterates over the log from `gt`, blocking for new notifications.

    Woken at once by commits through the same recorder; otherwise every
    `POLL_INTERVAL_S`, so another process's writes arrive within that delay.
    """

    def __init__(
        self,
        recorder: SubscribableSQLiteRecorder,
        gt: int | None = None,
        topics: Sequence[str] = (),
    ) -> None:
        super().__init__(recorder=recorder, gt=gt, topics=topics)
        self._poll_thread = threading.Thread(target=self._poll, daemon=True)
        self._poll_thread.start()

    def wake(self) -> None:
        self._has_been_notified.set()

    def stop(self) -> None:
        self._recorder._forget(self)
        super().stop()

    def __exit__(self, *args: object, **kwargs: Any) -> None:
        try:
            super().__exit__(*args, **kwargs)
        finally:
            self._poll_thread.join()

    def _poll(self) -> None:
        stopped = threading.Event()
        while not self._has_been_stopped:
            stopped.wait(POLL_INTERVAL_S)
            self._has_been_notified.set()
