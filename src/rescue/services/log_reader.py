"""Reading the events of some types from the whole log, a page at a time."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from rescue.services.store import RescueStore

PAGE = 500


def events_of(store: RescueStore, topics: Sequence[str]) -> Iterator[Any]:
    """Every stored event with one of these topics, in log order, up to the log's head now."""
    recorder = store.recorder
    head = recorder.max_notification_id() or 0
    position = 0
    while position < head:
        page = recorder.select_notifications(
            start=position, limit=PAGE, stop=head, topics=list(topics), inclusive_of_start=False
        )
        for notification in page:
            yield store.mapper.to_domain_event(notification)
        if len(page) < PAGE:
            break
        position = page[-1].id
