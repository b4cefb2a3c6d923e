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
    so the van never jumps back on the map. Reports come from the van's crew
    (its tablet or tracker), which the track's van names.
    """

    class PositionReported(Aggregate.Event):
        lat: float
        lon: float
        recorded_at: datetime
        speed_kmh: float | None
        heading: float | None
        accuracy_m: float | None

        def apply(self, aggregate: Any) -> None:
            track: VanTrack = aggregate
            if track.latest_at is None or self.recorded_at > track.latest_at:
                track.latest_at = self.recorded_at
                track.latest = {
                    "lat": self.lat,
                    "lon": self.lon,
                    "recorded_at": self.recorded_at,
                    "speed_kmh": self.speed_kmh,
                    "heading": self.heading,
                    "accuracy_m": self.accuracy_m,
                }

    @staticmethod
    def create_id(van_id: str, **_: Any) -> Any:
        return track_uuid(van_id)

    @event("Started")
    def __init__(self, van_id: str) -> None:
        self.van_id = van_id
        self.latest: dict[str, Any] | None = None
        self.latest_at: datetime | None = None

    def report(
        self,
        lat: float,
        lon: float,
        recorded_at: datetime,
        speed_kmh: float | None = None,
        heading: float | None = None,
        accuracy_m: float | None = None,
    ) -> None:
        # An explicit event class and trigger_event, rather than the @event
        # decorator, because this is the hot path: the decorator's argument
        # matching costs more than the rest of creating the event.
        self.trigger_event(
            self.PositionReported,
            lat=lat,
            lon=lon,
            recorded_at=recorded_at,
            speed_kmh=speed_kmh,
            heading=heading,
            accuracy_m=accuracy_m,
        )
