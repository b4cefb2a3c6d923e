"""The demo national service network: tiers, placement, fleets, determinism."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from rescue.domain.vocabulary import CAPABILITY_FOR_FAULT, Capability, Tier
from rescue.places.gazetteer import CN_BOX
from rescue.places.geojson import network_from_geojson, network_geojson
from rescue.places.network import Network
from rescue.simulator.network import RADIUS_KM, build_network, scaled_network


@pytest.fixture(scope="module")
def default() -> Network:
    return build_network()


@pytest.fixture(scope="module")
def full() -> Network:
    return build_network(county_per_service_point=3, town_per_service_point=5)


def tiers(network: Network) -> Counter[str]:
    return Counter(s.tier for s in network.stations)


def assert_well_formed(network: Network) -> None:
    lat_min, lat_max, lon_min, lon_max = CN_BOX
    station_ids = [s.station_id for s in network.stations]
    assert len(set(station_ids)) == len(station_ids)
    coords = [(s.lat, s.lon) for s in network.stations]
    assert len(set(coords)) == len(coords)
    van_ids = [v.van_id for v in network.vans]
    assert len(set(van_ids)) == len(van_ids)
    call_signs = [v.call_sign for v in network.vans]
    assert len(set(call_signs)) == len(call_signs)
    known = set(station_ids)
    assert all(v.station_id in known for v in network.vans)
    vocabulary = {t.value for t in Tier}
    kits: dict[str, set[str]] = {s: set() for s in station_ids}
    for v in network.vans:
        assert v.capabilities
        assert set(v.capabilities) <= {c.value for c in Capability}
        kits[v.station_id] |= set(v.capabilities)
    for s in network.stations:
        assert lat_min <= s.lat <= lat_max and lon_min <= s.lon <= lon_max, s
        assert s.tier in vocabulary
        assert s.radius_km == RADIUS_KM[s.tier]
        assert set(s.capabilities) == kits[s.station_id]
        assert s.city and s.province and s.name


def test_default_tier_counts(default: Network) -> None:
    counts = tiers(default)
    # HQ plus the 32 regional offices share the regional_office tier.
    assert counts[Tier.REGIONAL_OFFICE] == 33
    assert counts[Tier.DEALER] == 110
    assert counts[Tier.SERVICE_POINT] == 320
    assert counts[Tier.COUNTY_STATION] == 0
    assert counts[Tier.TOWN_STATION] == 0
    assert sum(counts.values()) == len(default.stations) == 463


def test_headquarters_and_regional_offices(default: Network) -> None:
    hq = default.stations[0]
    assert hq.station_id == "HQ-ZZ"
    assert hq.city == "Zhengzhou" and hq.province == "Henan"
    assert hq.tier == Tier.REGIONAL_OFFICE
    offices = [s for s in default.stations if s.station_id.startswith("RO-")]
    assert [s.station_id for s in offices] == [f"RO-{i:02d}" for i in range(1, 33)]
    # Every mainland province, region and municipality has an office (31), the
    # 32nd is in another large city.
    assert len({s.province for s in offices}) == 31
    assert len({s.city for s in offices}) == 32
    assert {"Beijing", "Shanghai", "Wuhan", "Chengdu", "Guangzhou"} <= {s.city for s in offices}


def test_dealers_in_the_largest_cities(default: Network) -> None:
    per_city = Counter(s.city for s in default.stations if s.tier == Tier.DEALER)
    for city in ("Shanghai", "Beijing", "Shenzhen", "Guangzhou"):
        assert per_city[city] >= 2


def test_service_points_spread_over_every_province(default: Network) -> None:
    points = [s for s in default.stations if s.tier == Tier.SERVICE_POINT]
    assert len({s.province for s in points}) == 31
    assert len({s.city for s in points}) > 150


def test_well_formed(default: Network, full: Network) -> None:
    assert_well_formed(default)
    assert_well_formed(full)


def test_stations_in_one_city_are_a_few_km_apart(default: Network) -> None:
    shanghai = [s for s in default.stations if s.city == "Shanghai"]
    assert len(shanghai) >= 5
    for i, a in enumerate(shanghai):
        for b in shanghai[i + 1 :]:
            dy = (a.lat - b.lat) * 111.32
            dx = (a.lon - b.lon) * 111.32 * math.cos(math.radians(a.lat))
            assert 0.3 <= math.hypot(dx, dy) <= 30.0


def test_every_capability_present_and_tow_common(default: Network, full: Network) -> None:
    for network in (default, full):
        present = {c for v in network.vans for c in v.capabilities}
        assert present == {c.value for c in Capability}
        assert set(CAPABILITY_FOR_FAULT.values()) <= present
    tows = [v for v in default.vans if Capability.TOW in v.capabilities]
    assert len(tows) >= 150
    # Every office and dealer keeps a tow truck and a repair van.
    for s in default.stations:
        if s.tier in (Tier.REGIONAL_OFFICE, Tier.DEALER):
            assert Capability.TOW in s.capabilities and Capability.REPAIR in s.capabilities


def test_town_stations_have_one_light_van(full: Network) -> None:
    per_station = Counter(v.station_id for v in full.vans)
    towns = {s.station_id for s in full.stations if s.tier == Tier.TOWN_STATION}
    assert all(per_station[t] == 1 for t in towns)
    for v in full.vans:
        if v.station_id in towns:
            assert Capability.TOW not in v.capabilities
            assert Capability.BATTERY in v.capabilities


def test_every_station_has_a_van(default: Network, full: Network) -> None:
    for network in (default, full):
        staffed = {v.station_id for v in network.vans}
        assert staffed == {s.station_id for s in network.stations}


def test_full_multi_tier_counts(full: Network) -> None:
    counts = tiers(full)
    assert counts[Tier.REGIONAL_OFFICE] == 33
    assert counts[Tier.DEALER] == 110
    assert counts[Tier.SERVICE_POINT] == 320
    assert counts[Tier.COUNTY_STATION] == 3 * 320
    assert counts[Tier.TOWN_STATION] == 5 * 320
    # Satellites sit in their service point's city and near it.
    by_city = {s.city for s in full.stations if s.tier == Tier.SERVICE_POINT}
    assert all(
        s.city in by_city
        for s in full.stations
        if s.tier in (Tier.COUNTY_STATION, Tier.TOWN_STATION)
    )


def test_default_is_a_prefix_of_the_full_network(default: Network, full: Network) -> None:
    # Same seed: adding county and town stations leaves the rest untouched.
    assert full.stations[: len(default.stations)] == default.stations
    assert full.vans[: len(default.vans)] == default.vans


def test_deterministic_for_a_seed(default: Network) -> None:
    assert build_network() == default
    assert build_network(seed=7) == default
    other = build_network(seed=8)
    assert other != default
    assert tiers(other) == tiers(default)


def test_parameters() -> None:
    small = build_network(service_points=40, dealers=10, vans_per_station=(2, 2))
    assert tiers(small) == {Tier.REGIONAL_OFFICE: 33, Tier.DEALER: 10, Tier.SERVICE_POINT: 40}
    assert_well_formed(small)
    with pytest.raises(ValueError):
        build_network(vans_per_station=(0, 2))
    with pytest.raises(ValueError):
        build_network(vans_per_station=(3, 2))
    with pytest.raises(ValueError):
        build_network(service_points=-1)


@pytest.mark.parametrize(
    ("stations", "vans"), [(0, 0), (10, 5), (33, 66), (500, 1000), (5000, 10000)]
)
def test_scaled_network_sizes_exact(stations: int, vans: int) -> None:
    network = scaled_network(stations, vans)
    assert len(network.stations) == stations
    assert len(network.vans) == vans
    ids = [s.station_id for s in network.stations]
    assert len(set(ids)) == len(ids)
    assert len({(s.lat, s.lon) for s in network.stations}) == stations
    assert len({v.van_id for v in network.vans}) == vans
    assert {v.station_id for v in network.vans} <= set(ids)
    if vans >= stations:
        assert_well_formed(network)


def test_scaled_network_is_deterministic_and_has_tow() -> None:
    a = scaled_network(2000, 4000, seed=3)
    assert a == scaled_network(2000, 4000, seed=3)
    assert a != scaled_network(2000, 4000, seed=4)
    assert {c for v in a.vans for c in v.capabilities} == {c.value for c in Capability}
    assert network_from_geojson(network_geojson(a)) == a


def test_scaled_network_needs_a_station_for_vans() -> None:
    with pytest.raises(ValueError):
        scaled_network(0, 3)
