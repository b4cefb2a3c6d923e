"""Plane-free geometry for moving vans: great circles, bearings, nearest points.

Vans drive along the great circle between two points; the road is longer
than that line by the circuity factor, so the time a drive takes is
geodesic km x circuity / road speed while the reported fixes lie on the arc.
A van is therefore a little slow along its line, which is what a map of a
winding road looks like from above.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from rescue.domain.dispatch import geodesic_km

__all__ = [
    "EARTH_RADIUS_KM",
    "NearestPoint",
    "destination",
    "geodesic_km",
    "initial_bearing",
    "interpolate",
]

EARTH_RADIUS_KM = 6371.0088


def _unit(lat: float, lon: float) -> tuple[float, float, float]:
    phi, lam = math.radians(lat), math.radians(lon)
    return (math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi))


def interpolate(
    lat1: float, lon1: float, lat2: float, lon2: float, fraction: float
) -> tuple[float, float]:
    """The point `fraction` (0..1) of the way along the great circle from 1 to 2."""
    f = min(1.0, max(0.0, fraction))
    a, b = _unit(lat1, lon1), _unit(lat2, lon2)
    dot = max(-1.0, min(1.0, sum(x * y for x, y in zip(a, b, strict=True))))
    omega = math.acos(dot)
    if omega < 1e-12:
        return lat1, lon1
    s = math.sin(omega)
    wa, wb = math.sin((1 - f) * omega) / s, math.sin(f * omega) / s
    x, y, z = (wa * p + wb * q for p, q in zip(a, b, strict=True))
    return math.degrees(math.atan2(z, math.hypot(x, y))), math.degrees(math.atan2(y, x))


def initial_bearing(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Compass heading (0-360, clockwise from north) at 1 towards 2 on the great circle."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dlam = math.radians(lon2 - lon1)
    y = math.sin(dlam) * math.cos(phi2)
    x = math.cos(phi1) * math.sin(phi2) - math.sin(phi1) * math.cos(phi2) * math.cos(dlam)
    return (math.degrees(math.atan2(y, x)) + 360.0) % 360.0


def destination(lat: float, lon: float, distance_km: float, bearing: float) -> tuple[float, float]:
    """The point `distance_km` from (lat, lon) at compass `bearing` degrees (sphere)."""
    delta = distance_km / EARTH_RADIUS_KM
    theta = math.radians(bearing)
    phi1, lam1 = math.radians(lat), math.radians(lon)
    phi2 = math.asin(
        math.sin(phi1) * math.cos(delta) + math.cos(phi1) * math.sin(delta) * math.cos(theta)
    )
    lam2 = lam1 + math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(phi1),
        math.cos(delta) - math.sin(phi1) * math.sin(phi2),
    )
    return math.degrees(phi2), (math.degrees(lam2) + 540.0) % 360.0 - 180.0


_Floats = npt.NDArray[np.float64]


class NearestPoint:
    """Nearest of a fixed set of points by great-circle distance (vectorised haversine)."""

    def __init__(self, points: Sequence[tuple[float, float]]) -> None:
        if not points:
            raise ValueError("NearestPoint needs at least one point")
        arr = np.radians(np.asarray(points, dtype=np.float64))
        self._lat: _Floats = arr[:, 0]
        self._lon: _Floats = arr[:, 1]
        self._cos_lat: _Floats = np.cos(self._lat)

    def distances_km(self, lat: float, lon: float) -> _Floats:
        phi, lam = math.radians(lat), math.radians(lon)
        hav = (
            np.sin((self._lat - phi) / 2) ** 2
            + math.cos(phi) * self._cos_lat * np.sin((self._lon - lam) / 2) ** 2
        )
        km: _Floats = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(hav, 0.0, 1.0)))
        return km

    def nearest(self, lat: float, lon: float) -> tuple[int, float]:
        """Index of the nearest point and its distance in km."""
        km = self.distances_km(lat, lon)
        i = int(np.argmin(km))
        return i, float(km[i])
