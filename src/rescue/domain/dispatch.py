"""The dispatch rule: which free, capable vans are nearest to a breakdown.

Pure code, no I/O: the caller hands in snapshots of the vans and the current
time, and gets back a ranked list of candidates. Distances are WGS-84
geodesics, the same numbers `geopy.distance.geodesic(...).km` gives, rounded
to metres; the ranking is by (distance_km, van_id), so equal distances always
rank the same way and an auditor replaying a decision gets the same list.

`rank_by_geodesic` is the plain definition (measure every eligible van);
`FleetIndex` answers the same question much faster for a fleet that is queried
many times, and is required to return exactly the same list.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
import shapely
from geographiclib.geodesic import Geodesic
from geopy.distance import ELLIPSOIDS

__all__ = [
    "Candidate",
    "DispatchParams",
    "FleetIndex",
    "VanSnapshot",
    "geodesic_km",
    "measure",
    "rank_by_geodesic",
]


@dataclass(frozen=True, slots=True)
class VanSnapshot:
    """What the dispatch rule needs to know about one van at one moment."""

    van_id: str
    station_id: str
    capabilities: frozenset[str]  # Capability values
    on_duty: bool
    available: bool  # free: not offered, not busy
    home_lat: float
    home_lon: float
    position_lat: float | None = None
    position_lon: float | None = None
    position_at: datetime | None = None  # tz-aware UTC time of the latest GPS report


@dataclass(frozen=True, slots=True)
class DispatchParams:
    position_max_age_s: float = 900.0  # older positions are ignored: distance from home station
    circuity: float = 1.3  # road distance / geodesic distance
    speed_kmh: float = 50.0
    k: int = 5


@dataclass(frozen=True, slots=True)
class Candidate:
    van_id: str
    station_id: str
    distance_km: float  # geodesic (WGS-84) km, rounded to 3 decimals
    eta_min: float  # distance_km * circuity / speed_kmh * 60, rounded to 1 decimal
    origin: str  # "position" or "home": the point the distance was measured from
    # Where eta_min came from: "default" (the rule above) or a fitted cell's key
    # (rescue.domain.eta), with that cell's error band in minutes.
    eta_source: str = "default"
    eta_band: tuple[float, float] | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "van_id": self.van_id,
            "station_id": self.station_id,
            "distance_km": self.distance_km,
            "eta_min": self.eta_min,
            "origin": self.origin,
            "eta_source": self.eta_source,
            "eta_band": list(self.eta_band) if self.eta_band is not None else None,
        }


ORIGIN_POSITION = "position"
ORIGIN_HOME = "home"

# geopy's geodesic builds geographiclib's Geodesic on its WGS-84 tuple, in km,
# and asks Inverse for DISTANCE only. Calling the same object the same way
# gives bit-identical kilometres without geopy's Point parsing, which costs
# about 40% of each call.
_A_KM, _, _F = ELLIPSOIDS["WGS-84"]
_GEOD = Geodesic(_A_KM, _F)
_DISTANCE = Geodesic.DISTANCE


def geodesic_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """WGS-84 geodesic distance in km, equal to `geopy.distance.geodesic(p1, p2).km`."""
    return float(_GEOD.Inverse(lat1, lon1, lat2, lon2, _DISTANCE)["s12"])


def _effective_point(
    van: VanSnapshot, now: datetime, params: DispatchParams
) -> tuple[float, float, str]:
    if (
        van.position_at is not None
        and van.position_lat is not None
        and van.position_lon is not None
        and (now - van.position_at).total_seconds() <= params.position_max_age_s
    ):
        return van.position_lat, van.position_lon, ORIGIN_POSITION
    return van.home_lat, van.home_lon, ORIGIN_HOME


def _is_candidate(van: VanSnapshot, capability: str) -> bool:
    return van.on_duty and van.available and capability in van.capabilities


def _candidate(
    van_id: str, station_id: str, km: float, origin: str, params: DispatchParams
) -> Candidate:
    distance_km = round(km, 3)
    eta_min = round(distance_km * params.circuity / params.speed_kmh * 60, 1)
    return Candidate(van_id, station_id, distance_km, eta_min, origin)


def measure(
    van: VanSnapshot, lat: float, lon: float, now: datetime, params: DispatchParams
) -> Candidate:
    """One van as a candidate for a site, whatever its duty and status (an operator's pick)."""
    from_lat, from_lon, origin = _effective_point(van, now, params)
    return _candidate(
        van.van_id, van.station_id, geodesic_km(from_lat, from_lon, lat, lon), origin, params
    )


def rank_by_geodesic(
    vans: Iterable[VanSnapshot],
    lat: float,
    lon: float,
    capability: str,
    now: datetime,
    params: DispatchParams = DispatchParams(),
    *,
    k: int | None = None,
    exclude: Collection[str] = (),
) -> list[Candidate]:
    """Brute-force baseline: geodesic distance to every eligible van.

    O(fleet) geodesic calls, each far dearer than the index's bounds, so only
    fit for small fleets, tests and as the reference that `FleetIndex.nearest` must match exactly.
    """
    k = params.k if k is None else k
    if k <= 0:
        return []
    excluded = set(exclude)
    ranked: list[tuple[float, str, Candidate]] = []
    for van in vans:
        if not _is_candidate(van, capability) or van.van_id in excluded:
            continue
        vlat, vlon, origin = _effective_point(van, now, params)
        cand = _candidate(
            van.van_id, van.station_id, geodesic_km(lat, lon, vlat, vlon), origin, params
        )
        ranked.append((cand.distance_km, cand.van_id, cand))
    ranked.sort(key=lambda row: (row[0], row[1]))
    return [row[2] for row in ranked[:k]]


# --- Bounds that let the index skip most geodesic calls ------------------------------------
#
# Map a point of the ellipsoid (geodetic lat φ, lon λ) to the unit sphere at the
# same (φ, λ). Along any path the ellipsoid's line element is
#     ds² = ρ(φ)² dφ² + N(φ)² cos²φ dλ²      (ρ meridional, N prime-vertical radius)
# against dφ² + cos²φ dλ² on the unit sphere, and a(1-e²) <= ρ <= N <= a/√(1-e²).
# So every path is between a(1-e²) and a/√(1-e²) times its image's length, and
# with θ the great-circle angle (haversine) between the images:
#     a(1-e²)·θ  <=  geodesic  <=  a/√(1-e²)·θ          (6335.439 .. 6399.594 km)
# The lower bound is the shortest image of the geodesic; the upper bound is the
# length of the great circle's pre-image. The window is 1%, so only vans within
# about 1% of the k-th distance need the exact (slow) geodesic.
_E2 = _F * (2 - _F)
_SPHERE_LO_KM = _A_KM * (1 - _E2) * (1 - 1e-9)
_SPHERE_HI_KM = _A_KM / math.sqrt(1 - _E2) * (1 + 1e-9)
# Haversine in float64 is good to far better than a millimetre; this covers it.
_FLOAT_SLACK_KM = 1e-6
# Distances are compared after rounding to 3 decimals: a van up to half a metre
# farther than another can still round to the same value and win on van_id.
_ROUND_SLACK_KM = 1e-3

# The box around the site is sized so that every point outside it is provably
# at least `radius` km away:
# - leaving the latitude band costs at least the meridian arc, and ρ >= a(1-e²)
#   makes a degree of latitude >= 110.574 km anywhere; 110.5 is below that.
# - staying in the band, a path must sweep the box's half-width in longitude,
#   and each degree of it costs N·cosφ·π/180 >= a·π/180·cos(φmax) = 111.319·cos(φmax)
#   km, φmax the largest |latitude| in the band; 111.3 is below that. (111.4,
#   a common rule of thumb, is 0.07% too long and would break the proof.)
# The geodesic is one such path, so it is at least `radius` long too.
_KM_PER_DEG_LAT = 110.5
_KM_PER_DEG_LON_EQUATOR = 111.3
_START_RADIUS_KM = 30.0
# Past this the box is the whole globe anyway.
_WHOLE_EARTH_KM = 25_000.0

_IntArray = npt.NDArray[np.intp]
_FloatArray = npt.NDArray[np.float64]


class _Layer:
    """The eligible vans of one capability: their points, a tree, precomputed trig."""

    __slots__ = (
        "cos_lat",
        "lat",
        "lat_rad",
        "lon",
        "lon_rad",
        "origins",
        "size",
        "station_ids",
        "tree",
        "van_ids",
        "x_max",
        "x_min",
    )

    def __init__(self, rows: Sequence[tuple[str, str, float, float, str]]) -> None:
        self.van_ids = [r[0] for r in rows]
        self.station_ids = [r[1] for r in rows]
        # Kept as Python floats so the geodesic sees exactly the numbers the
        # brute-force path sees.
        self.lat = [r[2] for r in rows]
        self.lon = [r[3] for r in rows]
        self.origins = [r[4] for r in rows]
        self.size = len(rows)
        lat_arr = np.array(self.lat, dtype=np.float64)
        lon_arr = np.array(self.lon, dtype=np.float64)
        self.lat_rad: _FloatArray = np.radians(lat_arr)
        self.lon_rad: _FloatArray = np.radians(lon_arr)
        self.cos_lat: _FloatArray = np.cos(self.lat_rad)
        self.x_min = float(lon_arr.min())
        self.x_max = float(lon_arr.max())
        self.tree = shapely.STRtree(shapely.points(lon_arr, lat_arr))

    def in_box(self, lat: float, lon: float, radius_km: float) -> tuple[_IntArray, bool]:
        """Indices of points that may be within `radius_km`; every other point is not.

        The second value says whether that is the whole layer.
        """
        if radius_km >= _WHOLE_EARTH_KM:
            return np.arange(self.size, dtype=np.intp), True
        dlat = radius_km / _KM_PER_DEG_LAT
        y0, y1 = lat - dlat, lat + dlat
        phi_max = max(abs(y0), abs(y1))
        if phi_max >= 90.0:
            # The band reaches a pole, where meridians meet: no longitude limit.
            boxes = [(self.x_min, y0, self.x_max, y1)]
        else:
            dlon = radius_km / (_KM_PER_DEG_LON_EQUATOR * math.cos(math.radians(phi_max)))
            if dlon >= 180.0:
                boxes = [(self.x_min, y0, self.x_max, y1)]
            else:
                x0, x1 = lon - dlon, lon + dlon
                boxes = [(x0, y0, x1, y1)]
                # Across the antimeridian the same strip continues at the other end.
                if x0 < -180.0:
                    boxes.append((x0 + 360.0, y0, 180.0, y1))
                if x1 > 180.0:
                    boxes.append((-180.0, y0, x1 - 360.0, y1))
        if len(boxes) == 1:
            hits: _IntArray = self.tree.query(shapely.box(*boxes[0])).astype(np.intp)
        else:
            found = self.tree.query(shapely.box(*np.array(boxes).T))[1]
            hits = np.unique(found).astype(np.intp)
        return hits, len(hits) == self.size

    def sphere_angle(self, idx: _IntArray, lat: float, lon: float) -> _FloatArray:
        lat0 = math.radians(lat)
        lon0 = math.radians(lon)
        half_dlat = (self.lat_rad[idx] - lat0) * 0.5
        half_dlon = (self.lon_rad[idx] - lon0) * 0.5
        hav = np.sin(half_dlat) ** 2 + math.cos(lat0) * self.cos_lat[idx] * np.sin(half_dlon) ** 2
        angle: _FloatArray = 2.0 * np.arcsin(np.sqrt(np.clip(hav, 0.0, 1.0)))
        return angle

    def rank(
        self, idx: Iterable[int], lat: float, lon: float, k: int, params: DispatchParams
    ) -> list[Candidate]:
        ranked: list[tuple[float, str, Candidate]] = []
        for i in idx:
            cand = _candidate(
                self.van_ids[i],
                self.station_ids[i],
                geodesic_km(lat, lon, self.lat[i], self.lon[i]),
                self.origins[i],
                params,
            )
            ranked.append((cand.distance_km, cand.van_id, cand))
        ranked.sort(key=lambda row: (row[0], row[1]))
        return [row[2] for row in ranked[:k]]


class FleetIndex:
    """Built once from snapshots at time `now`; answers many queries.

    Same answers as `rank_by_geodesic` over the same snapshots, time and params,
    in a small fraction of the time: an R-tree per capability finds the vans
    near the site, a spherical bound discards those that cannot make the top k,
    and the exact geodesic is only measured for the few left. The snapshot is
    frozen at build time: rebuild (cheap next to the queries it serves) when vans
    move, change duty or become busy, or when positions may have gone stale.

    A capability's tree is built when it is first asked for: a server rebuilds
    the index for nearly every call while the fleet moves, and a call asks for
    one capability of six (for 1,000 vans: 5.3 ms with all six trees, 0.85 ms
    for the rows alone, 0.25 ms for one tree). Two threads asking at once may
    both build it; either result is the same.
    """

    __slots__ = ("_layers", "_params", "_rows")

    def __init__(
        self,
        vans: Iterable[VanSnapshot],
        now: datetime,
        params: DispatchParams = DispatchParams(),
    ) -> None:
        self._params = params
        rows: dict[str, list[tuple[str, str, float, float, str]]] = {}
        for van in vans:
            if not (van.on_duty and van.available):
                continue
            vlat, vlon, origin = _effective_point(van, now, params)
            for capability in van.capabilities:
                rows.setdefault(capability, []).append(
                    (van.van_id, van.station_id, vlat, vlon, origin)
                )
        self._rows = rows
        self._layers: dict[str, _Layer] = {}

    @property
    def params(self) -> DispatchParams:
        return self._params

    def _layer(self, capability: str) -> _Layer | None:
        layer = self._layers.get(capability)
        if layer is None:
            rows = self._rows.get(capability)
            if rows is None:
                return None
            layer = self._layers[capability] = _Layer(rows)
        return layer

    def nearest(
        self,
        lat: float,
        lon: float,
        capability: str,
        *,
        k: int | None = None,
        exclude: Collection[str] = (),
    ) -> list[Candidate]:
        """The k nearest eligible vans, sorted by (distance_km, van_id)."""
        params = self._params
        k = params.k if k is None else k
        layer = self._layer(capability)
        if k <= 0 or layer is None:
            return []
        excluded = set(exclude)
        radius = _START_RADIUS_KM
        while True:
            hits, complete = layer.in_box(lat, lon, radius)
            if excluded:
                ids = layer.van_ids
                hits = np.array([i for i in hits if ids[i] not in excluded], dtype=np.intp)
            if len(hits) < k and not complete:
                radius *= 2.0
                continue
            angle = layer.sphere_angle(hits, lat, lon)
            upper = angle * _SPHERE_HI_KM + _FLOAT_SLACK_KM
            # At least k vans are within `cutoff`, so the k-th distance is too.
            cutoff = float(np.partition(upper, k - 1)[k - 1]) if len(hits) >= k else math.inf
            # Vans outside the box are >= radius away. Once the top k are all
            # provably (with rounding) below that, none outside can displace or
            # tie one of them; until then, grow the box to just beyond the cutoff,
            # which is enough for the next round to succeed.
            if not complete and cutoff + 2 * _ROUND_SLACK_KM >= radius:
                radius = max(radius * 1.25, cutoff + 10 * _ROUND_SLACK_KM)
                continue
            lower = angle * _SPHERE_LO_KM - _FLOAT_SLACK_KM
            short = hits[lower <= cutoff + _ROUND_SLACK_KM]
            return layer.rank(short.tolist(), lat, lon, k, params)
