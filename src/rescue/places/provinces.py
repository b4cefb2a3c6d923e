"""Which province a point lies in: the province of the nearest gazetteer city.

Good enough to choose a travel-time cell (a point near a border may be given
the neighbour's province, whose roads are much the same); not a boundary test.
Points outside the mainland box have no province.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import numpy.typing as npt

from rescue.places.gazetteer import cn_cities, in_box

__all__ = ["province_of"]


@functools.cache
def _city_points() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], tuple[str, ...]]:
    cities = cn_cities()
    lat = np.radians(np.array([c.lat for c in cities], dtype=np.float64))
    lon = np.radians(np.array([c.lon for c in cities], dtype=np.float64))
    return lat, lon, tuple(c.province for c in cities)


def province_of(lat: float, lon: float) -> str | None:
    """The English name of the province of the city nearest to (lat, lon), or None outside China."""
    if not in_box(lat, lon):
        return None
    lats, lons, provinces = _city_points()
    lat0, lon0 = math.radians(lat), math.radians(lon)
    hav = (
        np.sin((lats - lat0) * 0.5) ** 2
        + math.cos(lat0) * np.cos(lats) * np.sin((lons - lon0) * 0.5) ** 2
    )
    return provinces[int(np.argmin(hav))]
