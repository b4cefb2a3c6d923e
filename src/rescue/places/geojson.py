"""A service network as GeoJSON, and back: the file format of `rescue network export/import`.

One Point feature per station (coordinates are [lon, lat] as GeoJSON requires), its vans
nested in the properties.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rescue.domain.vocabulary import Capability, Tier
from rescue.places.network import Network, StationSpec, VanSpec

__all__ = ["network_from_geojson", "network_geojson"]


def network_geojson(network: Network) -> dict[str, Any]:
    """A FeatureCollection: one Point per station, its vans nested in the properties."""
    by_station: dict[str, list[VanSpec]] = {s.station_id: [] for s in network.stations}
    for van in network.vans:
        if van.station_id not in by_station:
            raise ValueError(f"van {van.van_id} belongs to unknown station {van.station_id}")
        by_station[van.station_id].append(van)
    features = [
        {
            "type": "Feature",
            "id": s.station_id,
            "geometry": {"type": "Point", "coordinates": [s.lon, s.lat]},
            "properties": {
                "station_id": s.station_id,
                "name": s.name,
                "tier": s.tier,
                "capabilities": list(s.capabilities),
                "radius_km": s.radius_km,
                "city": s.city,
                "province": s.province,
                "vans": [
                    {
                        "van_id": v.van_id,
                        "call_sign": v.call_sign,
                        "capabilities": list(v.capabilities),
                    }
                    for v in by_station[s.station_id]
                ],
            },
        }
        for s in network.stations
    ]
    return {"type": "FeatureCollection", "features": features}


def network_from_geojson(data: Mapping[str, Any]) -> Network:
    """Inverse of :func:`network_geojson`. Vans come back grouped by station
    in station order, which is the order :func:`network_geojson` writes.

    Anything that is not such a file raises ValueError naming the first bad feature.
    """
    if not isinstance(data, Mapping) or data.get("type") != "FeatureCollection":
        raise ValueError("expected a GeoJSON FeatureCollection")
    features = data.get("features", ())
    if not isinstance(features, list | tuple):
        raise ValueError("the FeatureCollection's features must be a list")
    stations: list[StationSpec] = []
    vans: list[VanSpec] = []
    for index, feature in enumerate(features):
        try:
            station, its_vans = _station(feature)
        except KeyError as error:
            raise ValueError(f"feature {index}: missing {error}") from error
        except (ValueError, TypeError, IndexError, AttributeError) as error:
            # A bad value or a wrong type deep in a feature: name the feature, not the line.
            raise ValueError(f"feature {index}: {error}") from error
        stations.append(station)
        vans.extend(its_vans)
    return Network(stations=tuple(stations), vans=tuple(vans))


def _station(feature: Mapping[str, Any]) -> tuple[StationSpec, list[VanSpec]]:
    geometry = feature["geometry"]
    if geometry.get("type") != "Point":
        raise ValueError("every station must be a Point feature")
    lon, lat = geometry["coordinates"][:2]
    p = feature["properties"]
    station = StationSpec(
        station_id=str(p["station_id"]),
        name=str(p["name"]),
        tier=Tier(p["tier"]).value,
        lat=float(lat),
        lon=float(lon),
        capabilities=_caps(p.get("capabilities", ())),
        radius_km=float(p["radius_km"]),
        city=str(p.get("city", "")),
        province=str(p.get("province", "")),
    )
    vans = [
        VanSpec(
            van_id=str(v["van_id"]),
            call_sign=str(v["call_sign"]),
            station_id=station.station_id,
            capabilities=_caps(v.get("capabilities", ())),
        )
        for v in p.get("vans", ())
    ]
    return station, vans


def _caps(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(Capability(v).value for v in values)
