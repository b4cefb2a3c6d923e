"""A van's GPS track: every report is kept, only a newer one moves the van."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate, event

from rescue.domain.ids import track_uuid


class VanTrack(Aggregate):
    """The stream of position reports of one van.

    Reports arrive out of order from tablets that were offline; an older report
    is still recorded (it is part of what happened) but leaves `latest` alone,
    so the van never jumps back on the map. Reports come from the van's crew
    (its tablet or tracker), which the track's van names.
    """

    # What a tracker app's report may carry besides the fix itself.
    DEVICE_FIELDS = ("battery_pct", "charging", "altitude_m", "event", "alarm")

    class PositionReported(Aggregate.Event):
        lat: float
        lon: float
        recorded_at: datetime
        speed_kmh: float | None
        heading: float | None
        accuracy_m: float | None
        # What a tracker app sent with the fix (keys of DEVICE_FIELDS); None from a
        # tablet. Events stored before the field existed read None too.
        device: dict[str, Any] | None = None

        def apply(self, aggregate: Any) -> None:
            track: VanTrack = aggregate
            track.take_fix(
                self.lat, self.lon, self.recorded_at, self.speed_kmh, self.heading, self.accuracy_m
            )

    @staticmethod
    def create_id(van_id: str, **_: Any) -> Any:
        return track_uuid(van_id)

    @event("Started")
    def __init__(self, van_id: str) -> None:
        self.van_id = van_id
        self.latest: dict[str, Any] | None = None
        self.latest_at: datetime | None = None

    def take_fix(
        self,
        lat: float,
        lon: float,
        recorded_at: datetime,
        speed_kmh: float | None,
        heading: float | None,
        accuracy_m: float | None,
    ) -> None:
        """Moves the van to a fix newer than its latest; an older one leaves it where it is.

        What applying a PositionReported event does; the position writer also calls it
        for reports it stores without building their events (rescue.services.positions).
        """
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

    def report(
        self,
        lat: float,
        lon: float,
        recorded_at: datetime,
        speed_kmh: float | None = None,
        heading: float | None = None,
        accuracy_m: float | None = None,
    ) -> None:
        # The hot path of the whole store (a fleet reports every second), so the
        # event is built as the library's trigger_event would build it, minus its
        # generic steps: the frozen dataclass __init__ (a setattr per field) and
        # the keyword copying cost twice what the rest of the event does. Same
        # fields in the same order, then the library's own mutate() (version
        # check, apply, version and modified_on). tests/unit/test_tracks.py
        # checks it against trigger_event.
        event = object.__new__(VanTrack.PositionReported)
        event.__dict__.update(
            originator_id=self.id,
            originator_version=self.version + 1,
            timestamp=VanTrack.PositionReported.create_timestamp(),
            lat=lat,
            lon=lon,
            recorded_at=recorded_at,
            speed_kmh=speed_kmh,
            heading=heading,
            accuracy_m=accuracy_m,
            device=None,
        )
        event.mutate(self)
        self._pending_events.append(event)
