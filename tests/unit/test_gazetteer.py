"""The gazetteer of mainland Chinese cities."""

from __future__ import annotations

from rescue.places.gazetteer import (
    CN_BOX,
    PLATE_PREFIX,
    city_gazetteer,
    city_label,
    cn_cities,
    in_box,
)


def test_city_gazetteer() -> None:
    cities = city_gazetteer()
    assert len(cities) > 2000
    lat_min, lat_max, lon_min, lon_max = CN_BOX
    assert all(lat_min <= c["lat"] <= lat_max and lon_min <= c["lon"] <= lon_max for c in cities)
    by_name = {c["name"]: c for c in cities}
    assert by_name["Zhengzhou"]["name_zh"] == "郑州"
    assert by_name["Shanghai"]["name_zh"] == "上海"
    assert by_name["Zhengzhou"]["province"] == "Henan"
    assert all(c["name_zh"] for c in cities)
    populations = [c["population"] for c in cities]
    assert populations == sorted(populations, reverse=True)


def test_the_box_holds_the_mainland_only() -> None:
    assert in_box(34.75, 113.65)  # Zhengzhou
    assert not in_box(1.29, 103.85)  # Singapore
    assert not in_box(34.75, 139.0)  # east of the coast


def test_of_cities_sharing_a_name_the_most_populous_keeps_it_bare() -> None:
    yichuns = [c for c in cn_cities() if c.name == "Yichun"]  # most populous first
    assert len(yichuns) >= 2
    assert city_label(yichuns[0]) == "Yichun"
    assert all(city_label(c) == f"Yichun, {c.province}" for c in yichuns[1:])


def test_every_province_has_its_plate_character() -> None:
    assert PLATE_PREFIX["Henan"] == "豫"
    assert {c.province for c in cn_cities()} <= set(PLATE_PREFIX)
    assert all(c.plate_prefix == PLATE_PREFIX[c.province] for c in cn_cities()[:50])
