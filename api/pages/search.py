"""Incident search for the audit page: by VIN, plate, station and report date."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

Doc = dict[str, Any]


def moment(value: str | None) -> datetime | None:
    """An ISO-8601 date or moment; one without an offset is taken as UTC."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def matches(
    doc: Doc,
    *,
    vin: str | None = None,
    plate: str | None = None,
    station: str | None = None,
    after: datetime | None = None,
    before: datetime | None = None,
    status: str | None = None,
) -> bool:
    """Whether a board document passes every filter given (VIN and plate: any part, any case)."""
    if vin and vin.strip().casefold() not in (doc.get("vin") or "").casefold():
        return False
    if plate and plate.strip().casefold() not in (doc.get("plate") or "").casefold():
        return False
    if station and station not in (doc.get("station_id"), doc.get("tow_station_id")):
        return False
    if status and doc.get("status") != status:
        return False
    if after is not None or before is not None:
        reported = moment(doc.get("reported_at"))
        if reported is None:
            return False
        if after is not None and reported < after:
            return False
        if before is not None and reported > before:
            return False
    return True


def search(docs: list[Doc], limit: int, **filters: Any) -> list[Doc]:
    """The matching documents, newest report first."""
    found = [doc for doc in docs if matches(doc, **filters)]
    found.sort(key=lambda doc: doc.get("reported_at") or "", reverse=True)
    return found[:limit]
