"""Reading chosen kinds of events from the whole log, in log order, without loading aggregates.

For tools that learn from or replay history (the ETA fit, the what-if): they
need a few event kinds of every incident and van, which is a small part of a
log that is mostly GPS fixes. The store is asked for those topics only, a page
at a time, and each row is decoded by the application's own mapper (cipher
and compression included). Logs written before the aggregates moved into
`rescue.domain` name the same classes by their old module; both are asked for.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from rescue.services.store import RescueStore

__all__ = ["recorded_events"]

PAGE = 2000
_MODULES = {
    "Incident": ("rescue.domain.incidents", "rescue.incidents"),
    "Van": ("rescue.domain.vans", "rescue.vans"),
    "Station": ("rescue.domain.stations", "rescue.stations"),
    "EtaModel": ("rescue.domain.eta",),
}


def _topics(names: Iterable[str]) -> list[str]:
    topics: list[str] = []
    for name in names:
        aggregate = name.split(".", 1)[0]
        topics.extend(f"{module}:{name}" for module in _MODULES[aggregate])
    return topics


def recorded_events(store: RescueStore, names: Iterable[str]) -> Iterator[tuple[int, Any]]:
    """(log position, domain event) of every event of the named kinds ("Incident.Offered")."""
    topics = _topics(names)
    recorder, mapper = store.recorder, store.mapper
    head = recorder.max_notification_id() or 0
    position = 0
    while position < head:
        page = recorder.select_notifications(
            start=position, limit=PAGE, stop=head, topics=topics, inclusive_of_start=False
        )
        if not page:
            break
        for notification in page:
            yield notification.id, mapper.to_domain_event(notification)
        position = page[-1].id
