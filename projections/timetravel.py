"""The whole board at a past moment: which vans were where, free or busy, and the incidents.

The log is replayed from its start into a fresh `LiveView` (the same code
that keeps the live board), applying the events recorded up to the moment.
GPS reports are the bulk of the log and only each van's newest fix at the
moment matters, so they are not decoded into events while reading: their
fields are read straight from their JSON (rescue.store.codec) and only the
fix kept for each van is applied at the end.

Events carry the time they were decided, not the time they were committed;
a command commits within seconds of deciding, so the replay reads on until
events are well past the moment (`SETTLE`) before it stops, and applies only
those at or before it. The events of one command are decided a few
microseconds apart (the incident's Offered, then the van's): a moment that
falls between them shows the command half done, so ask for moments between
commands, as people do ("at 10:32").

Cost: the replay reads the log up to the moment, so it takes longer the
later the moment; it is an auditor's query, not a live one.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from rescue.projections.live import LiveView
from rescue.store.codec import POSITION_TOPICS, position_fix

if TYPE_CHECKING:
    from eventsourcing.persistence import Notification

    from rescue.services.store import RescueStore

# How far past the moment the replay keeps reading for events decided before it.
SETTLE = timedelta(minutes=2)
PAGE = 2000


def board_as_of(app: RescueStore, moment: datetime, *, stations: bool = False) -> dict[str, Any]:
    """Vans (position, status) and open incidents as recorded up to `moment`."""
    view = LiveView()
    recorder, mapper = app.recorder, app.mapper
    head = recorder.max_notification_id() or 0
    fixes: dict[Any, tuple[datetime, Notification]] = {}
    position, known_at = 0, 0
    done = False
    while not done and position < head:
        page = recorder.select_notifications(
            start=position, limit=PAGE, stop=head, inclusive_of_start=False
        )
        if not page:
            break
        for notification in page:
            if notification.topic in POSITION_TOPICS:
                timestamp, _, _, recorded_at, _, _, _ = position_fix(mapper, notification.state)
                at = datetime.fromisoformat(timestamp)
                if at <= moment:
                    recorded = datetime.fromisoformat(recorded_at)
                    best = fixes.get(notification.originator_id)
                    if best is None or recorded > best[0]:
                        fixes[notification.originator_id] = (recorded, notification)
                    known_at = notification.id
                elif at > moment + SETTLE:
                    done = True
                    break
                continue
            domain_event: Any = mapper.to_domain_event(notification)
            if domain_event.timestamp <= moment:
                view.apply(notification.id, domain_event)
                known_at = notification.id
            elif domain_event.timestamp > moment + SETTLE:
                done = True
                break
        position = page[-1].id
    for _, notification in sorted(fixes.values(), key=lambda kept: kept[1].id):
        view.apply(notification.id, mapper.to_domain_event(notification))
    board = view.snapshot()
    return {
        "as_of": moment.isoformat(),
        "log_position": known_at,
        "vans": board["vans"],
        "incidents": board["incidents"],
        **({"stations": board["stations"]} if stations else {}),
    }
