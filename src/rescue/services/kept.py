"""Aggregates a process keeps between reads, brought up to date in one read.

Ranking the vans for a call reads the parts stock of each of the nearest
vans (fifteen by default) and the service record of each ranked one, when
the call is taken and again at dispatch, and a crew's app and the console
read vans over and over. Loaded one by one, each is a read of its snapshot
and of the events after it. Kept here, a later read of any number of them
is at most one statement: the events stored after each kept version.

Followed (`follow`, once the process's log follower runs): the follower
tells what it delivers (`saw`), and an aggregate it has seen no event of
since it was read is answered from memory, with no statement at all. On
PostgreSQL the round trip of that statement was three quarters of what an
authenticated van read cost. Such a read answers as of the process's place
in the log: the changes this process made (a command returns once its
follower has applied them) and those of other processes as soon as the
follower brings them, milliseconds later on PostgreSQL, at most
rescue.store.recorders.POLL_INTERVAL_S on SQLite. Not followed (a tool that
reads without following), every read asks the store.

The store is read outside the lock, so reads on several threads wait on
the database together, not one after another; what they bring is applied
under it, each event once (a thread that read less recently finds its
events already applied). What is kept is only ever read, under the lock
(`read`'s `view`): a command that changes one of these aggregates loads its
own copy through the runner and saves that.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import OriginatorVersionError
from eventsourcing.persistence import OperationalError, StoredEvent

from rescue.domain.errors import Unavailable
from rescue.services.store import RescueStore

T = TypeVar("T")

# Ids found absent that are remembered (so looked for again in the one read); past
# this many (a client asking for van after van that does not exist) they are forgotten.
MAX_ABSENT = 10_000


class KeptAggregates:
    """Aggregates by id, loaded once and then followed in one read per `read`."""

    def __init__(self, store: RescueStore) -> None:
        self._store = store
        self._kept: dict[UUID, Any] = {}
        self._absent: set[UUID] = set()  # looked for, and nothing stored under the id then
        self._loading: set[UUID] = set()  # first reads under way
        # The latest version of each kept, absent or loading id that the follower delivered.
        self._seen: dict[UUID, int] = {}
        self._followed = False
        self._lock = threading.Lock()

    def follow(self) -> None:
        """From now on the log follower calls `saw` with every event it delivers."""
        self._followed = True

    def saw(self, originator_id: UUID, version: int) -> None:
        """The follower delivered this version of an aggregate (any aggregate, any process).

        Called for every event of the log, GPS fixes included, so anything not
        kept costs one look-up. The ids of first reads under way are noted too:
        an event the follower brings while the store is being read may be
        later than what the read finds.
        """
        if (
            originator_id in self._kept
            or originator_id in self._absent
            or originator_id in self._loading
        ):
            with self._lock:
                if version > self._seen.get(originator_id, 0):
                    self._seen[originator_id] = version

    def read(self, ids: Sequence[UUID], view: Callable[[Any], T]) -> dict[UUID, T]:
        """`view` of each aggregate named, as the store holds it (see the module's doc).

        An id under which nothing is stored is left out of the answer.
        Raises Unavailable when the store cannot be read.
        """
        wanted = list(dict.fromkeys(ids))
        try:
            return self._read(wanted, view)
        except OperationalError as error:
            raise Unavailable(f"the store is unavailable: {error}") from error

    def _read(self, wanted: list[UUID], view: Callable[[Any], T]) -> dict[UUID, T]:
        with self._lock:
            known = [i for i in wanted if i in self._kept or i in self._absent]
            if self._followed:
                known = [i for i in known if not self._current(i)]
            versions = [(i, self._kept[i].version if i in self._kept else 0) for i in known]
            first = [i for i in wanted if i not in self._kept and i not in self._absent]
            self._loading.update(first)
        try:
            stored = self._store.events_after(versions) if versions else {}
            loaded = {i: self._load(i) for i in first}
        except BaseException:
            with self._lock:
                self._loading.difference_update(first)
            raise
        with self._lock:
            # No longer loading only once kept (or known absent): `saw` must hear of it
            # all along, or an event delivered in between would be lost.
            self._loading.difference_update(first)
            for aggregate_id, events in stored.items():
                self._apply(aggregate_id, events)
            for aggregate_id, aggregate in loaded.items():
                self._take(aggregate_id, aggregate)
            return {i: view(self._kept[i]) for i in wanted if i in self._kept}

    def _current(self, aggregate_id: UUID) -> bool:
        """Whether what is kept (or known absent) holds every event the follower delivered."""
        kept = self._kept.get(aggregate_id)
        version = kept.version if kept is not None else 0
        return version >= self._seen.get(aggregate_id, 0)

    def _load(self, aggregate_id: UUID) -> Any:
        """The first read of an id: from its snapshot and the events after it; None if absent."""
        try:
            return self._store.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def _take(self, aggregate_id: UUID, aggregate: Any) -> None:
        """Keeps a freshly loaded aggregate, unless a newer one is kept already."""
        kept = self._kept.get(aggregate_id)
        if aggregate is None:
            if kept is None:
                if len(self._absent) >= MAX_ABSENT:
                    self._forget_absent()
                self._absent.add(aggregate_id)
        elif kept is None or kept.version < aggregate.version:
            self._kept[aggregate_id] = aggregate
            self._absent.discard(aggregate_id)

    def _forget_absent(self) -> None:
        for aggregate_id in self._absent:
            self._seen.pop(aggregate_id, None)
        self._absent.clear()

    def _apply(self, aggregate_id: UUID, events: list[StoredEvent]) -> None:
        """Moves what is kept by the events it has not applied yet."""
        kept = self._kept.get(aggregate_id)
        version = kept.version if kept is not None else 0
        new = [e for e in events if e.originator_version > version]
        if not new:
            return
        try:
            self._kept[aggregate_id] = self._store.apply(kept, new)
        except OriginatorVersionError:
            # Not the next version: what is kept is not what is stored (it cannot
            # happen while events are only appended). It is read afresh instead.
            self._kept.pop(aggregate_id, None)
            self._absent.discard(aggregate_id)
            self._take(aggregate_id, self._load(aggregate_id))
            return
        self._absent.discard(aggregate_id)


__all__ = ["KeptAggregates"]
