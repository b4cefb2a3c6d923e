"""What every aggregate test checks, in one place.

* `recorded`, `last_event`, `fields`: the events a command left pending on the aggregate.
* `refused`: a command raises the expected domain error and leaves the aggregate exactly as it
  was (same state, no event recorded).
* `rebuilt`: the aggregate's events, replayed by hand and through the library's in-memory store,
  give back the same state, so nothing a command decides lives outside its events.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar
from uuid import UUID

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate

AggregateT = TypeVar("AggregateT", bound=Aggregate)

# Named here so a developer's own PERSISTENCE_MODULE cannot send these tests to a real store.
IN_MEMORY = {"PERSISTENCE_MODULE": "eventsourcing.popo"}


def recorded(aggregate: Aggregate) -> list[str]:
    """The class names of the aggregate's pending events, oldest first (`Incident.Offered` ->
    `Offered`)."""
    return [type(event).__name__ for event in aggregate.pending_events]


def last_event(aggregate: Aggregate) -> Any:
    return aggregate.pending_events[-1]


# What the library puts on every event; the rest is what the command decided.
_ENVELOPE = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic"})


def fields(event: Any) -> dict[str, Any]:
    """An event's own fields, without the library's envelope (id, version, time, topic)."""
    return {name: value for name, value in vars(event).items() if name not in _ENVELOPE}


@contextmanager
def refused(
    aggregate: Aggregate, error: type[Exception], says: str
) -> Iterator[pytest.ExceptionInfo[Exception]]:
    """Expects `error` with a message containing the text `says`, and no change at all to
    `aggregate`."""
    before = copy.deepcopy(vars(aggregate))
    with pytest.raises(error, match=re.escape(says)) as info:
        yield info
    assert vars(aggregate) == before


def replayed(events: Sequence[Any]) -> Any:
    """A new aggregate built by applying `events` (oldest first) to nothing."""
    aggregate = None
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def state(aggregate: Aggregate) -> dict[str, Any]:
    return {name: value for name, value in vars(aggregate).items() if name != "_pending_events"}


def rebuilt(aggregate: AggregateT) -> AggregateT:
    """Replays the aggregate's pending events by hand, then saves it to an in-memory store and
    loads it back; both copies must equal the original. Returns the loaded copy.

    Saving collects the pending events, so call this once, at the end of a test.
    """
    by_hand = replayed(list(aggregate.pending_events))
    assert type(by_hand) is type(aggregate)
    assert state(by_hand) == state(aggregate)

    app = Application[UUID](env=IN_MEMORY)
    app.save(aggregate)
    loaded: AggregateT = app.repository.get(aggregate.id)
    assert type(loaded) is type(aggregate)
    assert state(loaded) == state(aggregate)
    return loaded
