"""Stations of the service network: offices, dealers, service points and their outposts."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate, event

from rescue.domain.ids import station_uuid


class Station(Aggregate):
    """A place vans are based at; dispatch measures from here when a van's GPS is stale."""

    @staticmethod
    def create_id(station_id: str, **_: Any) -> Any:
        return station_uuid(station_id)

    @event("Registered")
    def __init__(
        self,
        station_id: str,
        name: str,
        tier: str,
        lat: float,
        lon: float,
        capabilities: list[str],
        radius_km: float,
        actor: dict[str, Any],
    ) -> None:
        self.station_id = station_id
        self.name = name
        self.tier = tier
        self.lat = lat
        self.lon = lon
        self.capabilities = list(capabilities)
        self.radius_km = radius_km
        self.in_service = True

    def edit(self, changes: dict[str, Any], actor: dict[str, Any]) -> None:
        self._edited(changes=changes, actor=actor)

    @event("Edited")
    def _edited(self, changes: dict[str, Any], actor: dict[str, Any]) -> None:
        for name, value in changes.items():
            setattr(self, name, value)

    def as_public(self) -> dict[str, Any]:
        return {
            "station_id": self.station_id,
            "name": self.name,
            "tier": self.tier,
            "lat": self.lat,
            "lon": self.lon,
            "capabilities": self.capabilities,
            "radius_km": self.radius_km,
            "in_service": self.in_service,
        }
