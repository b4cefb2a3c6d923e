"""The shape of a service network as files and generators describe it: stations and their vans.

Plain frozen records, one per station and van, before anything is registered in the store;
the fields are the arguments of registering a station or a van.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Network", "StationSpec", "VanSpec"]


@dataclass(frozen=True, slots=True)
class StationSpec:
    station_id: str
    name: str
    tier: str
    lat: float
    lon: float
    capabilities: tuple[str, ...]  # union of its vans' capabilities, vocabulary order
    radius_km: float
    city: str  # the GeoNames city it sits in (county/town: the city of its service point)
    province: str  # English admin1 name, e.g. "Henan"


@dataclass(frozen=True, slots=True)
class VanSpec:
    van_id: str
    call_sign: str
    station_id: str
    capabilities: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Network:
    stations: tuple[StationSpec, ...]
    vans: tuple[VanSpec, ...]
