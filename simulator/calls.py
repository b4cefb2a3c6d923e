"""Breakdown calls: when they arrive, where, and what the operator records.

Arrivals are a non-homogeneous Poisson process: the rate at simulated time t
is `calls_per_hour x profile(hour of t)` scaled by the snowstorm's extra
weight, sampled by thinning (draw at the peak rate, keep each arrival with
probability rate(t) / peak). Each call happens near a real city that lies
within reach of the network's stations, chosen with weight population^0.75
(times the storm factor in the storm's province), so big cities call more
often without drowning out the rest.

Everything here is a pure function of the scenario, the stations and the
seed: the same inputs plan the same calls, byte for byte.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from rescue.domain.validation import CHINA_TZ, vin_with_check_digit
from rescue.domain.vocabulary import FaultCategory
from rescue.places.gazetteer import PLATE_PREFIX, city_gazetteer
from rescue.simulator.geo import NearestPoint, destination
from rescue.simulator.scenarios import Scenario

__all__ = ["Place", "PlannedCall", "call_places", "iter_calls", "plan_calls", "province_of"]

F = FaultCategory


@dataclass(frozen=True, slots=True)
class Place:
    name: str
    province: str
    lat: float
    lon: float
    weight: float  # before any storm factor


@dataclass(frozen=True, slots=True)
class PlannedCall:
    seq: int
    at_s: float  # simulated seconds after the scenario start
    place: str
    province: str
    in_storm: bool
    report: dict[str, Any]  # the body of POST /api/incidents
    caller_cancels_after_s: float | None  # simulated seconds after the report

    @property
    def category(self) -> str:
        return str(self.report["fault"]["category"])


def call_places(stations: Sequence[tuple[float, float]], reach_km: float) -> list[Place]:
    """Gazetteer cities within `reach_km` of a station (every station's nearest
    city at least, so a remote station still gets calls)."""
    if not stations:
        raise ValueError("no stations: nothing to simulate")
    cities = city_gazetteer()
    index = NearestPoint(stations)
    chosen: dict[int, Place] = {}
    for c in cities:
        _, km = index.nearest(c["lat"], c["lon"])
        if km <= reach_km:
            chosen[c["geonameid"]] = _place(c)
    by_city = NearestPoint([(c["lat"], c["lon"]) for c in cities])
    for lat, lon in stations:
        i, _ = by_city.nearest(lat, lon)
        chosen.setdefault(cities[i]["geonameid"], _place(cities[i]))
    return sorted(chosen.values(), key=lambda p: (-p.weight, p.name, p.lat))


def _place(city: Any) -> Place:
    return Place(
        name=str(city["name"]),
        province=str(city["province"]),
        lat=float(city["lat"]),
        lon=float(city["lon"]),
        weight=max(1.0, float(city["population"])) ** 0.75,
    )


_PROVINCE_INDEX: tuple[NearestPoint, list[str]] | None = None


def province_of(lat: float, lon: float) -> str:
    """The province of the nearest gazetteer city (good enough for weather)."""
    global _PROVINCE_INDEX
    if _PROVINCE_INDEX is None:
        cities = city_gazetteer()
        _PROVINCE_INDEX = (
            NearestPoint([(c["lat"], c["lon"]) for c in cities]),
            [c["province"] for c in cities],
        )
    index, provinces = _PROVINCE_INDEX
    return provinces[index.nearest(lat, lon)[0]]


def plan_calls(
    scenario: Scenario, places: Sequence[Place], seed: int, *, today: date | None = None
) -> list[PlannedCall]:
    """Every call of a scenario with a fixed duration."""
    if scenario.duration_s is None:
        raise ValueError("the scenario runs until stopped: use iter_calls")
    return list(iter_calls(scenario, places, seed, today=today))


def iter_calls(
    scenario: Scenario, places: Sequence[Place], seed: int, *, today: date | None = None
) -> Iterator[PlannedCall]:
    """Calls in arrival order, until the scenario's duration (forever if it has none)."""
    if not places:
        raise ValueError("no places for calls")
    rng = random.Random(seed)
    today = today or datetime.now(CHINA_TZ).date()
    storm = scenario.storm_province
    if storm is not None and not any(p.province == storm for p in places):
        known = sorted({p.province for p in places})
        raise ValueError(
            f"the storm's province {storm!r} has no place within reach of the network's "
            f"stations; provinces in reach: {', '.join(known)}"
        )
    factors = [scenario.storm_factor if p.province == storm else 1.0 for p in places]
    weights = np.array([p.weight * f for p, f in zip(places, factors, strict=True)])
    base_weight = float(sum(p.weight for p in places))
    cumulative = np.cumsum(weights)
    total = float(cumulative[-1])
    # The storm adds calls on top of the ordinary ones: the rate grows with the weight.
    rate_per_s = scenario.calls_per_hour / 3600.0 * total / base_weight
    peak = max(scenario.hourly_profile)
    seq = 0
    t = 0.0
    if scenario.first_call_at_s is not None:
        yield _call(scenario, places, factors, cumulative, total, rng, seq,
                    scenario.first_call_at_s, today)  # fmt: skip
        seq += 1
        t = scenario.first_call_at_s
    if rate_per_s <= 0:
        return
    while True:
        t += rng.expovariate(rate_per_s * peak)
        if scenario.duration_s is not None and t >= scenario.duration_s:
            return
        hour = (scenario.start + timedelta(seconds=t)).astimezone(CHINA_TZ).hour
        if rng.random() * peak > scenario.hourly_profile[hour]:
            continue
        yield _call(scenario, places, factors, cumulative, total, rng, seq, t, today)
        seq += 1


def _call(
    scenario: Scenario,
    places: Sequence[Place],
    factors: Sequence[float],
    cumulative: Any,
    total: float,
    rng: random.Random,
    seq: int,
    at_s: float,
    today: date,
) -> PlannedCall:
    i = int(np.searchsorted(cumulative, rng.random() * total, side="right"))
    i = min(i, len(places) - 1)
    place = places[i]
    in_storm = factors[i] != 1.0
    mix = scenario.storm_fault_mix if in_storm else scenario.fault_mix
    categories = sorted(mix)
    category = rng.choices(categories, weights=[mix[c] for c in categories])[0]
    # A point within ~15 km of the city centre, denser towards the centre.
    lat, lon = destination(
        place.lat, place.lon, 15.0 * math.sqrt(rng.random()), rng.uniform(0.0, 360.0)
    )
    hour = (scenario.start + timedelta(seconds=at_s)).astimezone(CHINA_TZ).hour
    on_expressway = rng.random() < (0.3 if in_storm else 0.15)
    where = (
        f"{rng.choice(_EXPRESSWAYS)} km {rng.randint(3, 900)}, near {place.name}"
        if on_expressway
        else f"{rng.choice(_STREETS)}, {place.name}"
    )
    report: dict[str, Any] = {
        "caller": {"name": _name(rng), "phone": _mobile(rng)},
        "vehicle": _vehicle(rng, place.province, today),
        "location": {"lat": round(lat, 6), "lon": round(lon, 6), "description": where},
        "fault": {"category": category, "description": rng.choice(_FAULT_WORDS[category])},
        "safety": {
            "on_expressway": on_expressway,
            "at_night": hour < 6 or hour >= 20,
            "passengers": rng.choices((0, 1, 2, 3), weights=(50, 30, 12, 8))[0],
            "injury": category == F.ACCIDENT and rng.random() < 0.12,
            "vulnerable": rng.random() < 0.04,
        },
    }
    cancels = rng.uniform(5 * 60.0, 40 * 60.0) if rng.random() < scenario.p_caller_cancels else None
    return PlannedCall(seq, at_s, place.name, place.province, in_storm, report, cancels)


# -- what callers say ------------------------------------------------------------

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"  # noqa: E501
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉梅文辉鹏飞斌宇浩凯健俊帆帅旭宁龙林欣婷雪慧晨颖佳琳"  # noqa: E501
_MODEL_SERIES = (("D22", 35), ("RICH", 30), ("PALADIN", 20), ("NV200", 15))
# VIN characters 4-8 by series (a made-up but well-formed descriptor section).
_VDS = {"D22": "TGD22", "RICH": "TGR1C", "PALADIN": "SGPAL", "NV200": "MGNV2"}
# Model-year character of the VIN (10th position) for 2010 onwards.
_YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY"
_VIN_SERIAL = "0123456789"
_PLATE_CHARS = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
_EXPRESSWAYS = ("G4", "G1", "G2", "G3", "G5", "G15", "G30", "G45", "G60", "G65", "G70", "G75")
_STREETS = (
    "Renmin Road",
    "Zhongshan Road",
    "Jiefang Road",
    "Jianshe Road",
    "Wenhua Road",
    "Xinhua Street",
    "Heping Road",
    "Chaoyang Road",
    "a supermarket car park",
    "a residential compound gate",
    "a petrol station forecourt",
    "a county road junction",
)
_FAULT_WORDS: dict[str, tuple[str, ...]] = {
    F.BATTERY: ("will not start", "clicks but will not crank", "dashboard dead after the night"),
    F.FLAT_TIRE: ("flat front tyre", "tyre blew out", "slow puncture, now flat"),
    F.OUT_OF_FUEL: ("ran out of diesel", "fuel gauge stuck, tank empty"),
    F.LOCKOUT: ("keys locked inside", "key lost", "remote dead, doors locked"),
    F.ENGINE_FAILURE: ("engine stalled and will not restart", "loud knock then stopped"),
    F.OVERHEATING: ("temperature in the red, steam", "coolant warning then power loss"),
    F.TRANSMISSION: ("will not go into gear", "clutch gone", "gearbox grinding, stopped"),
    F.ELECTRICAL: ("lights and wipers failed", "warning lights all on, limp mode"),
    F.ACCIDENT: ("slid into the ditch", "rear-ended at low speed", "hit the barrier"),
    F.OTHER: ("strange noise from the axle", "brake warning light on"),
}


def _name(rng: random.Random) -> str:
    given = "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2, 2))))
    return rng.choice(_SURNAMES) + given


def _mobile(rng: random.Random) -> str:
    return "1" + rng.choice("35789") + "".join(rng.choice("0123456789") for _ in range(9))


def _vehicle(rng: random.Random, province: str, today: date) -> dict[str, Any]:
    series = rng.choices([s for s, _ in _MODEL_SERIES], weights=[w for _, w in _MODEL_SERIES])[0]
    age_days = rng.randint(20, 8 * 365)
    sold_on = today - timedelta(days=age_days)
    year_code = _YEAR_CODES[min(len(_YEAR_CODES) - 1, max(0, sold_on.year - 2010))]
    serial = "".join(rng.choice(_VIN_SERIAL) for _ in range(6))
    vin = vin_with_check_digit(f"LJN{_VDS[series]}0{year_code}N{serial}")
    odometer = int(age_days / 365.0 * rng.uniform(8_000, 35_000))
    plate_prefix = PLATE_PREFIX.get(province, "豫")
    plate = (
        plate_prefix + rng.choice("ABCDEFGH") + "".join(rng.choice(_PLATE_CHARS) for _ in range(5))
    )
    return {
        "vin": vin,
        "plate": plate,
        "model_series": series,
        "odometer_km": odometer,
        "sold_on": sold_on.isoformat(),
    }
