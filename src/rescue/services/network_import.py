"""Registering a whole service network at once: its stations, then its vans on duty.

The one way a network file or a generated network reaches the store. What already exists
is kept, so importing the same network twice adds nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from rescue.domain.actors import Actor
from rescue.places.network import Network
from rescue.services.network import NetworkService

__all__ = ["import_network"]


def import_network(
    service: NetworkService,
    network: Network,
    actor: Actor,
    *,
    chunk: int = 200,
    advance: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Registers the network's stations and vans not yet known; returns (stations, vans) added.

    A van of a station the network does not have is refused (ValueError) before anything
    is written. Works in chunks of ``chunk`` stations or vans, calling ``advance`` with the
    size of each chunk done, so a caller can show progress over stations plus vans.
    """
    known = {s.station_id for s in network.stations}
    for van in network.vans:
        if van.station_id not in known:
            raise ValueError(f"van {van.van_id} belongs to unknown station {van.station_id}")
    stations = [dataclasses.asdict(s) for s in network.stations]
    vans = [dataclasses.asdict(v) for v in network.vans]
    added_stations = added_vans = 0
    # Stations first: a van is registered only at a known station.
    for start in range(0, len(stations), chunk):
        part = stations[start : start + chunk]
        added_stations += service.load_network(part, [], actor)[0]
        if advance is not None:
            advance(len(part))
    for start in range(0, len(vans), chunk):
        part = vans[start : start + chunk]
        added_vans += service.load_network([], part, actor)[1]
        if advance is not None:
            advance(len(part))
    return added_stations, added_vans
