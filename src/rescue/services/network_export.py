"""The network as the store holds it, in the shape the GeoJSON export writes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rescue.places.network import Network, StationSpec, VanSpec


def network_of(stations: Iterable[dict[str, Any]], vans: Iterable[dict[str, Any]]) -> Network:
    """Stations and vans from the board's documents, by id; vans grouped by station.

    The store does not keep a station's city and province (they come from the
    gazetteer when a network is generated), so they are written empty.
    """
    ordered = sorted(stations, key=lambda s: str(s["station_id"]))
    by_station: dict[str, list[VanSpec]] = {str(s["station_id"]): [] for s in ordered}
    for van in sorted(vans, key=lambda v: str(v["van_id"])):
        by_station.setdefault(str(van["station_id"]), []).append(
            VanSpec(
                van_id=str(van["van_id"]),
                call_sign=str(van["call_sign"]),
                station_id=str(van["station_id"]),
                capabilities=tuple(van["capabilities"]),
            )
        )
    return Network(
        stations=tuple(
            StationSpec(
                station_id=str(s["station_id"]),
                name=str(s["name"]),
                tier=str(s["tier"]),
                lat=float(s["lat"]),
                lon=float(s["lon"]),
                capabilities=tuple(s["capabilities"]),
                radius_km=float(s["radius_km"]),
                city="",
                province="",
            )
            for s in ordered
        ),
        vans=tuple(v for s in ordered for v in by_station[str(s["station_id"])]),
    )
