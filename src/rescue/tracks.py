"""A van's GPS track: every report is kept, only a newer one moves the van."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate, event

from rescue.ids import track_uuid


class VanTrack(Aggregate):
    """The stream of position reports of one van.

    Reports arrive out of order from tablets that were offline; an older report
    is still recorded (it is part of what happened) but leaves `latest` alone,
    so the van never jumps back on the map.
    """

    @staticmethod
    def create_id(van_id: str, **_: Any) -> Any:
        return track_uuid(van_id)

    @event("Started")
    def __init__(self, van_id: str) -> None:
        self.van_id = van_id
        self.latest: dict[str, Any] | None = None
        self.latest_at: datetime | None = None

    @event("PositionReported")
    def report(
        self,
        lat: float,
        lon: float,
        recorded_at: datetime,
        speed_kmh: float | None = None,
        heading: float | None = None,
        accuracy_m: float | None = None,
    ) -> None:
        if self.latest_at is None or recorded_at > self.latest_at:
            self.latest_at = recorded_at
            self.latest = {
                "lat": lat,
                "lon": lon,
                "recorded_at": recorded_at,
                "speed_kmh": speed_kmh,
                "heading": heading,
                "accuracy_m": accuracy_m,
            }
