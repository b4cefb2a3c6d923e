"""Place look-up for the console: the network's gazetteer of Chinese cities, by name."""

from __future__ import annotations

import functools

from typing_extensions import TypedDict  # pydantic needs this one on Python 3.11

from rescue.places.gazetteer import city_gazetteer


class Place(TypedDict):
    name: str
    name_zh: str
    province: str
    lat: float
    lon: float
    population: int


@functools.cache
def _places() -> tuple[tuple[str, str, str, Place], ...]:
    """(english lower-case, chinese, province lower-case, place), most populous first."""
    entries = sorted(city_gazetteer(), key=lambda c: (-c["population"], c["geonameid"]))
    return tuple(
        (
            c["name"].casefold(),
            c["name_zh"],
            c["province"].casefold(),
            Place(
                name=c["name"],
                name_zh=c["name_zh"],
                province=c["province"],
                lat=c["lat"],
                lon=c["lon"],
                population=c["population"],
            ),
        )
        for c in entries
    )


def find_places(query: str, limit: int = 10) -> list[Place]:
    """Cities whose Chinese or English name matches `query`: exact, then prefix, then substring.

    Within each rank the most populous city comes first, so "郑州" or "zheng"
    finds Zhengzhou before a small town of a similar name.
    """
    wanted = query.strip().casefold()
    if not wanted:
        return []
    ranked: list[tuple[int, int, Place]] = []
    for order, (english, chinese, province, place) in enumerate(_places()):
        if wanted in (english, chinese) or chinese == wanted.rstrip("市"):
            rank = 0
        elif english.startswith(wanted) or chinese.startswith(wanted):
            rank = 1
        elif wanted in english or wanted in chinese:
            rank = 2
        elif wanted == province:
            rank = 3
        else:
            continue
        ranked.append((rank, order, place))
    ranked.sort(key=lambda r: (r[0], r[1]))
    return [place for _, _, place in ranked[:limit]]
