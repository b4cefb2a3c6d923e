"""Checks on the event log after a simulation: every call ended, no van held two jobs.

Both sides of every assignment are read back from the store: each van's own
history (offered, engaged, released) must hold at most one incident at a
time, and the spans during which each incident was with a van (from its
Offered event to the decline, expiry, withdrawal, cancellation or completion
that ended it) must not overlap for the same van. `double_bookings` is the
pure core, so its verdicts can be tested on made-up histories.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from rescue.domain.ids import van_uuid

__all__ = ["Holding", "LogCheck", "check_log", "double_bookings", "incident_spans", "van_spans"]

ENDED_STATUSES = frozenset({"completed", "cancelled", "closed"})


@dataclass(frozen=True, slots=True)
class Holding:
    """A van bound to an incident from `start` until `end` (None: still bound)."""

    van_id: str
    incident_id: str
    start: datetime
    end: datetime | None


# One event as the checks need it: (type name, timestamp, data).
Record = tuple[str, datetime, dict[str, Any]]


def van_spans(van_id: str, history: Sequence[Record]) -> tuple[list[Holding], list[str]]:
    """Holdings from a van's own events, and any step that broke "one job at a time"."""
    spans: list[Holding] = []
    problems: list[str] = []
    holding: tuple[str, datetime] | None = None
    for name, at, data in history:
        if name == "Offered":
            if holding is not None:
                problems.append(
                    f"van {van_id} offered {data['incident_id']} at {at.isoformat()} "
                    f"while holding {holding[0]}"
                )
                spans.append(Holding(van_id, holding[0], holding[1], at))
            holding = (str(data["incident_id"]), at)
        elif name in ("Engaged", "Released"):
            if holding is None or holding[0] != str(data["incident_id"]):
                problems.append(
                    f"van {van_id} {name.lower()} for {data['incident_id']} at {at.isoformat()} "
                    f"while holding {holding[0] if holding else 'nothing'}"
                )
            if name == "Released" and holding is not None:
                spans.append(Holding(van_id, holding[0], holding[1], at))
                holding = None
    if holding is not None:
        spans.append(Holding(van_id, holding[0], holding[1], None))
    return spans, problems


_INCIDENT_ENDS = {"Declined", "OfferExpired", "Queued", "Cancelled", "Completed"}


def incident_spans(incident_id: str, history: Sequence[Record]) -> list[Holding]:
    """The spans during which the incident was with a van, from its own events."""
    spans: list[Holding] = []
    current: tuple[str, datetime] | None = None
    for name, at, data in history:
        if name == "Offered":
            if current is not None:  # withdrawn from the previous van
                spans.append(Holding(current[0], incident_id, current[1], at))
            current = (str(data["van_id"]), at)
        elif name in _INCIDENT_ENDS and current is not None:
            spans.append(Holding(current[0], incident_id, current[1], at))
            current = None
    if current is not None:
        spans.append(Holding(current[0], incident_id, current[1], None))
    return spans


def double_bookings(spans: Iterable[Holding]) -> list[str]:
    """Pairs of spans of one van on different incidents that overlap in time."""
    by_van: dict[str, list[Holding]] = defaultdict(list)
    for span in spans:
        by_van[span.van_id].append(span)
    problems: list[str] = []
    for van_id, held in sorted(by_van.items()):
        held.sort(key=lambda h: h.start)
        for earlier, later in itertools.pairwise(held):
            if earlier.incident_id == later.incident_id:
                continue
            if earlier.end is None or later.start < earlier.end:
                problems.append(
                    f"van {van_id} on {earlier.incident_id} and {later.incident_id} "
                    f"at once (from {later.start.isoformat()})"
                )
    return problems


@dataclass
class LogCheck:
    statuses: dict[str, str] = field(default_factory=dict)  # incident id -> status in the store
    van_holdings: int = 0
    incident_holdings: int = 0
    problems: list[str] = field(default_factory=list)


def _records(events: Iterable[Any]) -> list[Record]:
    return [(type(e).__qualname__.split(".")[-1], e.timestamp, dict(e.__dict__)) for e in events]


def check_log(app: Any, van_ids: Iterable[str], incident_ids: Iterable[str]) -> LogCheck:
    """Reads every given van and incident from `app`'s store and checks them.

    Problems: an incident not completed or cancelled, a van still holding a
    job, a van step out of order, or two overlapping jobs of one van (seen
    from the vans' histories or from the incidents').
    """
    check = LogCheck()
    vans = sorted(set(van_ids))
    van_side: list[Holding] = []
    for van_id in vans:
        spans, problems = van_spans(van_id, _records(app.events.get(van_uuid(van_id))))
        van_side += spans
        check.problems += problems
        check.problems += [
            f"van {van_id} still holds {s.incident_id}" for s in spans if s.end is None
        ]
    incident_side: list[Holding] = []
    for incident_id in sorted(incident_ids):
        events = list(app.events.get(UUID(incident_id)))
        if not events:
            check.problems.append(f"incident {incident_id} is not in the store")
            continue
        incident = app.repository.get(UUID(incident_id))
        status = str(getattr(incident.status, "value", incident.status))
        check.statuses[incident_id] = status
        if status not in ENDED_STATUSES:
            check.problems.append(f"incident {incident_id} ended {status}")
        incident_side += incident_spans(incident_id, _records(events))
    check.van_holdings = len(van_side)
    check.incident_holdings = len(incident_side)
    check.problems += double_bookings(van_side)
    check.problems += double_bookings(incident_side)
    # Both sides must tell the same story: the same (van, incident) pairs.
    pairs_van = {(h.van_id, h.incident_id) for h in van_side}
    wanted = set(incident_ids)
    pairs_incident = {(h.van_id, h.incident_id) for h in incident_side}
    for van_id, incident_id in sorted(pairs_incident - pairs_van):
        if van_id not in vans:
            continue
        check.problems.append(f"incident {incident_id} was with van {van_id}, whose log omits it")
    for van_id, incident_id in sorted(pairs_van - pairs_incident):
        if incident_id in wanted:
            check.problems.append(f"van {van_id} held {incident_id}, whose log omits it")
    return check
