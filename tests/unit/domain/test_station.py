"""`Station` on its own: registered in service, edited field by field."""

from __future__ import annotations

from typing import Any

from rescue.domain.actors import Actor
from rescue.domain.ids import station_uuid
from rescue.domain.stations import Station
from tests.unit.domain.checks import fields, last_event, rebuilt, recorded

ADMIN = Actor(role="admin", name="admin-1").as_dict()


REGISTRATION: dict[str, Any] = {
    "station_id": "S-1",
    "name": "Zhengzhou service point",
    "tier": "service_point",
    "lat": 34.75,
    "lon": 113.62,
    "capabilities": ["tow", "battery"],
    "radius_km": 40.0,
}


def registered() -> Station:
    return Station(**REGISTRATION, actor=ADMIN)


def test_a_station_is_registered_in_service_and_edited() -> None:
    # 1. Registered under an id derived from its code, in service.
    station = registered()
    assert station.id == station_uuid("S-1") == Station.create_id("S-1")
    assert fields(last_event(station)) == {**REGISTRATION, "actor": ADMIN}
    assert station.in_service

    # 2. An edit changes only the fields it names.
    station.edit({"radius_km": 60.0, "in_service": False}, ADMIN)
    assert fields(last_event(station)) == {
        "changes": {"radius_km": 60.0, "in_service": False},
        "actor": ADMIN,
    }
    assert station.as_public() == {**REGISTRATION, "radius_km": 60.0, "in_service": False}

    # 3. Both events rebuild the edited station.
    assert recorded(station) == ["Registered", "Edited"]
    assert rebuilt(station).radius_km == 60.0
