"""Fault statistics for the maker's quality department, read from the log.

Each reported incident is one fault: its vehicle's model series, its fault
category, the parts fitted in its (last) diagnosis, how long and how far the
vehicle had been in service, the month it was reported in, and whether its
repair went to the maker as a warranty claim (`Claim`) or was paid by the
customer (`PaidService`). Grouped by one of those, per month.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from eventsourcing.utils import get_topic

from rescue.domain.claims import Claim, PaidService
from rescue.domain.incidents import Incident
from rescue.domain.validation import CHINA_TZ
from rescue.services.log_reader import events_of
from rescue.services.store import RescueStore
from rescue.store.legacy_topics import legacy_topic

GROUPINGS = ("model_series", "category", "part_no")
_DAYS_PER_MONTH = 30.4375
# Stores written before the domain classes moved hold them under their old topics too.
_TOPICS = [
    topic
    for cls in (
        Incident.Reported,  # type: ignore[attr-defined]
        Incident.Diagnosed,  # type: ignore[attr-defined]
        Claim.Drafted,  # type: ignore[attr-defined]
        PaidService.Marked,  # type: ignore[attr-defined]
    )
    for topic in (get_topic(cls), legacy_topic(get_topic(cls)))
    if topic is not None
]


@dataclass
class Fault:
    reported_at: datetime
    model_series: str
    category: str
    odometer_km: int | None
    months_in_service: float | None
    parts: list[str] = field(default_factory=list)
    warranty: bool | None = None  # None until the repair is settled one way or the other


class FaultStats:
    def __init__(self, store: RescueStore) -> None:
        self.store = store

    def _events(self) -> Iterator[Any]:
        return events_of(self.store, _TOPICS)

    def faults(self) -> list[Fault]:
        found: dict[str, Fault] = {}
        for e in self._events():
            name = type(e).__qualname__
            if name == "Incident.Reported":
                vehicle = e.vehicle
                found[str(e.originator_id)] = Fault(
                    reported_at=e.timestamp,
                    model_series=str(vehicle.get("model_series", "")),
                    category=str(e.fault.get("category", "")),
                    odometer_km=vehicle.get("odometer_km"),
                    months_in_service=_months_in_service(vehicle.get("sold_on"), e.timestamp),
                )
            elif name == "Incident.Diagnosed":
                fault = found.get(str(e.originator_id))
                if fault is not None:
                    # A later diagnosis replaces an earlier one.
                    fault.parts = sorted({str(p["part_no"]) for p in e.parts})
            else:
                fault = found.get(str(e.incident_id))
                if fault is not None:
                    fault.warranty = name == "Claim.Drafted"
        return list(found.values())

    def by(
        self, grouping: str, start: datetime | None = None, end: datetime | None = None
    ) -> dict[str, Any]:
        """Faults per group and month, with the share of settled repairs under warranty."""
        if grouping not in GROUPINGS:
            raise ValueError(f"group by one of {', '.join(GROUPINGS)}")
        cells: dict[tuple[str, str], list[Fault]] = defaultdict(list)
        totals: dict[str, list[Fault]] = defaultdict(list)
        for fault in self.faults():
            if (start is not None and fault.reported_at < start) or (
                end is not None and fault.reported_at >= end
            ):
                continue
            month = fault.reported_at.astimezone(CHINA_TZ).strftime("%Y-%m")
            for key in _keys(fault, grouping):
                cells[(key, month)].append(fault)
                totals[key].append(fault)
        return {
            "by": grouping,
            "rows": [
                {grouping: key, "month": month, **_summary(faults)}
                for (key, month), faults in sorted(cells.items())
            ],
            "totals": [
                {grouping: key, **_summary(faults)}
                for key, faults in sorted(totals.items(), key=lambda kv: (-len(kv[1]), kv[0]))
            ],
        }


def _keys(fault: Fault, grouping: str) -> list[str]:
    if grouping == "model_series":
        return [fault.model_series]
    if grouping == "category":
        return [fault.category]
    return fault.parts


def _summary(faults: list[Fault]) -> dict[str, Any]:
    settled = [f for f in faults if f.warranty is not None]
    warranty = sum(1 for f in settled if f.warranty)
    months = [f.months_in_service for f in faults if f.months_in_service is not None]
    km = [f.odometer_km for f in faults if f.odometer_km is not None]
    return {
        "faults": len(faults),
        "settled": len(settled),
        "warranty": warranty,
        "warranty_share": round(warranty / len(settled), 4) if settled else None,
        "mean_months_in_service": round(sum(months) / len(months), 1) if months else None,
        "mean_km": round(sum(km) / len(km)) if km else None,
    }


def _months_in_service(sold_on: Any, reported_at: datetime) -> float | None:
    try:
        sold = date.fromisoformat(str(sold_on))
    except ValueError:
        return None
    days = (reported_at.astimezone(CHINA_TZ).date() - sold).days
    return round(max(0, days) / _DAYS_PER_MONTH, 1)
