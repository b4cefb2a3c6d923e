"""`rescue network import`: a GeoJSON network (as `network export` writes it) into a store."""

from __future__ import annotations

import json
from pathlib import Path

from rescue.domain.actors import Actor
from rescue.services.application import RescueApp
from rescue.settings import Settings
from rescue.simulator.network import network_from_geojson
from rescue.simulator.setup import SIM_ADMIN, load_with_progress, progress_bar

__all__ = ["import_geojson"]


def import_geojson(source: Path, settings: Settings, actor: Actor = SIM_ADMIN) -> tuple[int, int]:
    """Registers the file's stations and vans (on duty) not yet in the store.

    The whole file is parsed and checked before anything is written, so a bad
    file adds nothing. Returns (stations added, vans added).
    """
    network = network_from_geojson(json.loads(source.read_text(encoding="utf-8")))
    known = {s.station_id for s in network.stations}
    for van in network.vans:
        if van.station_id not in known:  # pragma: no cover - the GeoJSON nests vans
            raise ValueError(f"van {van.van_id} belongs to unknown station {van.station_id}")
    app = RescueApp(settings)
    try:
        with progress_bar() as progress:
            return load_with_progress(app, network, actor, progress=progress)
    finally:
        app.close()
