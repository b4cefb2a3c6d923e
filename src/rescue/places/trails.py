"""A van's trail over a period as GeoJSON: its fixes, thinned when there are many, and its stops.

Pure functions over fixes already read from the log (`Fix`), so the rules can
be tested alone:

- `stops`: where the van stayed within `STOP_RADIUS_M` of one spot for at least
  `min_stop_s`, found on every fix (thinning never hides a stop);
- `thinned`: at most `max_points` fixes, spread evenly over the period, the
  first and last always kept; a long period keeps its shape at a fixed size
  instead of growing with the reporting rate;
- `trail_geojson`: a FeatureCollection of a LineString (the trail), a Point per
  kept fix (`kind: "fix"`, with its time, recorded speed and heading) and a Point
  per stop (`kind: "stop"`, from, to and duration).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

# Fixes within this distance of a stop's first fix belong to the stop: GPS wanders
# by tens of metres around a parked van.
STOP_RADIUS_M = 60.0


@dataclass(frozen=True, slots=True)
class Fix:
    at: datetime
    lat: float
    lon: float
    speed_kmh: float | None = None
    heading: float | None = None


@dataclass(frozen=True, slots=True)
class Stop:
    lat: float
    lon: float
    start: datetime
    end: datetime
    fixes: int

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine), in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 12_742_000.0 * math.asin(math.sqrt(min(1.0, a)))


def stops(fixes: Sequence[Fix], min_stop_s: float, radius_m: float = STOP_RADIUS_M) -> list[Stop]:
    """Stays of at least `min_stop_s` within `radius_m` of their first fix, in time order.

    `fixes` must be in time order. A gap without fixes inside a stay counts
    as part of it (a tablet off while the van is parked).
    """
    found: list[Stop] = []
    start = 0
    for i in range(1, len(fixes) + 1):
        anchor = fixes[start]
        if i < len(fixes) and metres(anchor.lat, anchor.lon, fixes[i].lat, fixes[i].lon) <= (
            radius_m
        ):
            continue
        stay = fixes[start:i]
        if (stay[-1].at - stay[0].at).total_seconds() >= min_stop_s:
            found.append(
                Stop(
                    lat=sum(f.lat for f in stay) / len(stay),
                    lon=sum(f.lon for f in stay) / len(stay),
                    start=stay[0].at,
                    end=stay[-1].at,
                    fixes=len(stay),
                )
            )
        start = i
    return found


def thinned(fixes: Sequence[Fix], max_points: int) -> list[Fix]:
    """At most `max_points` (>= 2) of the time-ordered fixes, spread evenly over their span.

    The span is cut into `max_points - 1` equal steps; at each step's time the
    first fix at or after it is kept (once), and the first and last fixes always.
    """
    if max_points < 2:
        raise ValueError("a trail needs at least 2 points")
    if len(fixes) <= max_points:
        return list(fixes)
    first, last = fixes[0].at, len(fixes) - 1
    step = (fixes[-1].at - first).total_seconds() / (max_points - 1)
    kept = [fixes[0]]
    index = 1
    for k in range(1, max_points - 1):
        target = first + timedelta(seconds=k * step)
        while index < last and fixes[index].at < target:
            index += 1
        if index >= last:
            break
        kept.append(fixes[index])
        index += 1
    kept.append(fixes[-1])
    return kept


def _point(lat: float, lon: float, properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": properties,
    }


def trail_geojson(
    fixes: Sequence[Fix], *, max_points: int, min_stop_s: float, properties: dict[str, Any]
) -> dict[str, Any]:
    """The FeatureCollection of a trail; `properties` (van, period) go on the collection."""
    ordered = sorted(fixes, key=lambda f: f.at)
    kept = thinned(ordered, max_points)
    found = stops(ordered, min_stop_s)
    features: list[dict[str, Any]] = []
    if len(kept) >= 2:
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "LineString",
                    "coordinates": [[f.lon, f.lat] for f in kept],
                },
                "properties": {
                    "kind": "trail",
                    "from": kept[0].at.isoformat(),
                    "to": kept[-1].at.isoformat(),
                },
            }
        )
    features.extend(
        _point(
            f.lat,
            f.lon,
            {"kind": "fix", "at": f.at.isoformat(), "speed_kmh": f.speed_kmh, "heading": f.heading},
        )
        for f in kept
    )
    features.extend(
        _point(
            s.lat,
            s.lon,
            {
                "kind": "stop",
                "from": s.start.isoformat(),
                "to": s.end.isoformat(),
                "duration_s": round(s.seconds),
                "fixes": s.fixes,
            },
        )
        for s in found
    )
    return {
        "type": "FeatureCollection",
        **properties,
        "fixes": len(ordered),
        "shown": len(kept),
        "thinned": len(kept) < len(ordered),
        "stops": len(found),
        "features": features,
    }
