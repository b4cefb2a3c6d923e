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
from functools import lru_cache
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import (
    ApplicationRecorder,
    ListenNotifySubscription,
    Notification,
    StoredEvent,
    Subscription,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

# How often a SQLite subscription looks for other processes' writes.
POLL_INTERVAL_S = 0.2
# Originators per statement of `select_after` (two bound values each), well under
# SQLite's limit on bound values.
SELECT_AFTER_CHUNK = 400

# The originator ids of rows as they are read, made once each: a fleet's few thousand
# tracks are most of the rows every process reads. Bounded, for the many incidents.
uuid_of_hex = lru_cache(maxsize=1 << 16)(UUID)

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

    def select_after(self, versions: Sequence[tuple[UUID, int]]) -> list[StoredEvent]:
        """The events of each originator after its given version, in one read.

        In version order for each originator. How a process that keeps aggregates
        in memory learns what other processes appended to them since.
        """
        ...


def _flat_pairs(versions: Sequence[tuple[UUID, int]]) -> list[str | int]:
    flat: list[str | int] = []
    for originator_id, version in versions:
        flat += (originator_id.hex, version)
    return flat


def whole_log_after(
    start: int | None, stop: int | None, topics: Sequence[str], inclusive_of_start: bool
) -> int | None:
    """Where a read of `select_notifications` starts (it reads the ids after this one) when
    it reads the whole log in order, as every live subscription does; None when a stop or
    topics narrow it, which the recorders leave to the library's read."""
    if stop is not None or topics:
        return None
    after = start or 0
    if inclusive_of_start:
        after -= 1  # ids are whole numbers: from `start` on is after the one before
    return after


class SubscribableSQLiteRecorder(SQLiteApplicationRecorder):
    """Announces each commit to this process's subscriptions; reads many originators' new events."""

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

    def select_after(self, versions: Sequence[tuple[UUID, int]]) -> list[StoredEvent]:
        """The events of each originator after its given version (see RowRecorder).

        One statement per `SELECT_AFTER_CHUNK` originators: each pair is a seek
        into the table's primary key, so an originator with nothing newer costs
        one index probe.
        """
        found: list[StoredEvent] = []
        with self.datastore.transaction(commit=False) as c:
            for start in range(0, len(versions), SELECT_AFTER_CHUNK):
                chunk = versions[start : start + SELECT_AFTER_CHUNK]
                c.execute(self._select_after_statement(len(chunk)), _flat_pairs(chunk))
                found.extend(
                    StoredEvent(uuid_of_hex(row[0]), row[1], row[2], row[3]) for row in c.fetchall()
                )
        return found

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        """The library's notifications, read as plain tuples when no stop or topics narrow them.

        Every server process reads every row of the log this way (its live
        subscription), GPS fixes included. The library's reading looks each column
        up by name in a `sqlite3.Row` and makes a new UUID per row, six times the
        cost of the row itself; the same notifications are built here from tuples,
        with the originator ids made once each.
        """
        after = whole_log_after(start, stop, topics, inclusive_of_start)
        if after is None or self.datastore.originator_id_type != "uuid":
            return super().select_notifications(
                start, limit, stop, topics, inclusive_of_start=inclusive_of_start
            )
        return [
            Notification(
                id=notification_id,
                originator_id=uuid_of_hex(originator_id),
                originator_version=version,
                topic=topic,
                state=state,
            )
            for notification_id, originator_id, version, topic, state in self.rows_after(
                after, limit
            )
        ]

    def rows_after(self, after: int, limit: int) -> list[tuple[int, str, int, str, bytes]]:
        """Up to `limit` rows of the log after position `after`, in order, as stored.

        (notification id, originator id as 32 hex digits, version, topic, state):
        plain tuples, for the readers of every row (the live subscription, the read
        models), which a `sqlite3.Row` or a UUID per row would cost more than the row.
        """
        with self.datastore.transaction(commit=False) as c:
            c.sqlite_cursor.row_factory = None  # this cursor's rows as tuples
            c.execute(
                "SELECT rowid, originator_id, originator_version, topic, state "
                f"FROM {self.events_table_name} WHERE rowid > ? ORDER BY rowid LIMIT ?",
                (after, limit),
            )
            rows: list[tuple[int, str, int, str, bytes]] = c.fetchall()
            return rows

    def _select_after_statement(self, count: int) -> str:
        pairs = ",".join(["(?,?)"] * count)
        return (
            f"WITH after(id, version) AS (VALUES {pairs}) "
            "SELECT e.originator_id, e.originator_version, e.topic, e.state "
            f"FROM after JOIN {self.events_table_name} AS e "
            "ON e.originator_id = after.id AND e.originator_version > after.version "
            "ORDER BY e.originator_id, e.originator_version"
        )

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
