"""A service network as GeoJSON and back, and what a bad document gets."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rescue.places.geojson import network_from_geojson, network_geojson
from rescue.places.network import Network, StationSpec, VanSpec
from rescue.simulator.network import build_network

TWO_STATIONS = Network(
    stations=(
        StationSpec(
            "S-1",
            "Zhengzhou dealer 1",
            "dealer",
            34.75,
            113.65,
            ("tow",),
            80.0,
            "Zhengzhou",
            "Henan",
        ),
        StationSpec(
            "S-2",
            "Kaifeng service point 1",
            "service_point",
            34.8,
            114.3,
            ("battery", "tire"),
            60.0,
            "Kaifeng",
            "Henan",
        ),
    ),
    vans=(
        VanSpec("V-1", "豫救001", "S-1", ("tow",)),
        VanSpec("V-2", "豫救002", "S-2", ("battery", "tire")),
        VanSpec("V-3", "豫救003", "S-2", ("battery",)),
    ),
)


@pytest.mark.parametrize(
    "network",
    [
        TWO_STATIONS,
        build_network(),
        build_network(county_per_service_point=3, town_per_service_point=5),
    ],
    ids=["two stations", "default", "full"],
)
def test_geojson_round_trip(network: Network) -> None:
    data = network_geojson(network)
    assert data["type"] == "FeatureCollection"
    assert len(data["features"]) == len(network.stations)
    first = data["features"][0]
    assert first["geometry"] == {
        "type": "Point",
        "coordinates": [network.stations[0].lon, network.stations[0].lat],
    }
    assert first["properties"]["vans"]
    text = json.dumps(data, ensure_ascii=False)
    assert network_from_geojson(json.loads(text)) == network


def test_geojson_rejects_orphan_vans() -> None:
    broken = Network(stations=TWO_STATIONS.stations[:1], vans=TWO_STATIONS.vans)
    with pytest.raises(ValueError, match="unknown station S-2"):
        network_geojson(broken)


def _broken(change: Any) -> Any:
    data = network_geojson(TWO_STATIONS)
    change(data)
    return data


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([1, 2], "FeatureCollection"),
        ({"type": "Feature"}, "FeatureCollection"),
        ({"type": "FeatureCollection", "features": "many"}, "must be a list"),
        (_broken(lambda d: d["features"].append(7)), "feature 2"),
        (_broken(lambda d: d["features"][1].pop("geometry")), "feature 1: missing .geometry."),
        (
            _broken(lambda d: d["features"][0]["properties"].pop("radius_km")),
            "feature 0: missing .radius_km.",
        ),
        (_broken(lambda d: d["features"][0]["properties"].update(tier="castle")), "castle"),
        (
            _broken(
                lambda d: d["features"][1]["properties"]["vans"][0].update(
                    capabilities=["teleport"]
                )
            ),
            "teleport",
        ),
        (
            _broken(
                lambda d: d["features"][0].update(
                    geometry={"type": "LineString", "coordinates": [[1, 2], [3, 4]]}
                )
            ),
            "Point",
        ),
        (_broken(lambda d: d["features"][0]["geometry"].update(coordinates=[113.6])), "feature 0"),
    ],
)
def test_a_bad_document_is_a_value_error_naming_what_is_wrong(document: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        network_from_geojson(document)
