"""The service vans' own maintenance: how far each has driven since its last service.

The distance comes from the van's GPS track: the sum of the geodesic hops
between its fixes in the order they were recorded. A fix older than the last
one used (a tablet sending what it kept while offline) is not a hop, and nor
is a jump that would need more than `max_speed_kmh`: a bad fix, not a drive.
Hops under `min_hop_km` are left out, so a parked van's GPS jitter does not
add up to kilometres.

A van's service record (`VanUpkeep`) says at what distance it was last
serviced and how often it is due; a van past its interval is flagged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from rescue.domain.dispatch import geodesic_km
from rescue.domain.ids import NAMESPACE


def upkeep_uuid(van_id: str) -> UUID:
    return uuid5(NAMESPACE, f"upkeep:{van_id}")


@dataclass(frozen=True, slots=True)
class OdometerRules:
    min_hop_km: float = 0.02
    max_speed_kmh: float = 200.0


@dataclass
class Odometer:
    """One van's distance driven, fed its fixes in log order."""

    km: float = 0.0
    last: tuple[float, float, datetime] | None = field(default=None)

    def add(self, lat: float, lon: float, at: datetime, rules: OdometerRules) -> None:
        if self.last is None:
            self.last = (lat, lon, at)
            return
        last_lat, last_lon, last_at = self.last
        if at <= last_at:
            return
        hop = geodesic_km(last_lat, last_lon, lat, lon)
        hours = (at - last_at).total_seconds() / 3600.0
        if hop > rules.max_speed_kmh * hours:
            return  # an implausible jump: keep measuring from the last good fix
        if hop < rules.min_hop_km:
            return  # jitter: the next real hop is measured from the same point
        self.km += hop
        self.last = (lat, lon, at)


class VanUpkeep(Aggregate):
    """When a van was last serviced (as km driven by the GPS track) and its interval."""

    @staticmethod
    def create_id(van_id: str, **_: Any) -> UUID:
        return upkeep_uuid(van_id)

    @event("Opened")
    def __init__(self, van_id: str, interval_km: float, actor: dict[str, Any]) -> None:
        self.van_id = van_id
        self.interval_km = interval_km
        self.serviced_at_km = 0.0
        self.serviced_on: str | None = None

    @event("Serviced")
    def record_service(
        self, at_km: float, serviced_on: str, note: str, actor: dict[str, Any]
    ) -> None:
        self.serviced_at_km = at_km
        self.serviced_on = serviced_on

    def set_interval(self, interval_km: float, actor: dict[str, Any]) -> None:
        if interval_km <= 0:
            raise ValueError("a service interval is a positive distance")
        if interval_km != self.interval_km:
            self._interval_set(interval_km=interval_km, actor=actor)

    @event("IntervalSet")
    def _interval_set(self, interval_km: float, actor: dict[str, Any]) -> None:
        self.interval_km = interval_km


def due_status(km_driven: float, serviced_at_km: float, interval_km: float) -> dict[str, Any]:
    """Distance since the last service, what is left of the interval, and whether it is past."""
    since = max(0.0, km_driven - serviced_at_km)
    return {
        "km_driven": round(km_driven, 1),
        "km_since_service": round(since, 1),
        "interval_km": interval_km,
        "due_in_km": round(interval_km - since, 1),
        "past_due": since >= interval_km,
    }
