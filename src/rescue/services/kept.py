"""Aggregates a process keeps between reads, brought up to date in one read.

Ranking the vans for a call reads the parts stock of each of the nearest
vans (fifteen by default) and the service record of each ranked one, when
the call is taken and again at dispatch. Loaded one by one, each is a read
of its snapshot and of the events after it: on PostgreSQL, with a thousand
vans' fixes being committed meanwhile, a third of the call's time went to
those reads. Kept here, every later read of any number of them is one
statement: the events stored after each kept version, usually none (one
index probe each), so a change made through any process is seen.

What is kept is only ever read, under the lock (`read`'s `view`); a command
that changes one of these aggregates loads its own copy through the runner
and saves that.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import OriginatorVersionError
from eventsourcing.persistence import OperationalError

from rescue.domain.errors import Unavailable
from rescue.services.store import RescueStore

T = TypeVar("T")


class KeptAggregates:
    """Aggregates by id, loaded once and then followed in one read per `read`."""

    def __init__(self, store: RescueStore) -> None:
        self._store = store
        self._kept: dict[UUID, Any] = {}
        self._absent: set[UUID] = set()  # looked for, and nothing stored under the id then
        self._lock = threading.Lock()

    def read(self, ids: Sequence[UUID], view: Callable[[Any], T]) -> dict[UUID, T]:
        """`view` of each aggregate named, as the store holds it now.

        An id under which nothing is stored is left out of the answer.
        Raises Unavailable when the store cannot be read.
        """
        wanted = list(dict.fromkeys(ids))
        try:
            with self._lock:
                known = [i for i in wanted if i in self._kept or i in self._absent]
                self._bring_up_to_date(known)
                for aggregate_id in wanted:
                    if aggregate_id not in self._kept and aggregate_id not in self._absent:
                        self._load(aggregate_id)
                return {i: view(self._kept[i]) for i in wanted if i in self._kept}
        except OperationalError as error:
            raise Unavailable(f"the store is unavailable: {error}") from error

    def _load(self, aggregate_id: UUID) -> None:
        """The first read of an id: from its snapshot and the events after it."""
        try:
            self._kept[aggregate_id] = self._store.repository.get(aggregate_id)
        except AggregateNotFoundError:
            self._absent.add(aggregate_id)

    def _bring_up_to_date(self, ids: Sequence[UUID]) -> None:
        """Applies the events stored since each kept version; builds those stored since
        an id was found absent. One read for all of them."""
        if not ids:
            return
        stored = self._store.events_after(
            [(i, self._kept[i].version if i in self._kept else 0) for i in ids]
        )
        for aggregate_id, events in stored.items():
            try:
                self._kept[aggregate_id] = self._store.apply(self._kept.get(aggregate_id), events)
            except OriginatorVersionError:
                # Not the next version: what is kept is not what is stored (it cannot
                # happen while events are only appended); read it afresh instead.
                self._kept.pop(aggregate_id, None)
                self._absent.discard(aggregate_id)
                self._load(aggregate_id)
                continue
            self._absent.discard(aggregate_id)


__all__ = ["KeptAggregates"]
