"""Dispatch on the national network offers the geodesic-nearest capable free van.

The reference is computed here by brute force with `geopy.distance.geodesic`
over every van read back from the store, measured from its home station (no
van has reported a position), so it checks the whole path: the live view, the
fleet index and the offer.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from geographiclib.geodesic import Geodesic
from geopy.distance import geodesic

from rescue.bootstrap import Rescue
from rescue.domain.vocabulary import CAPABILITY_FOR_FAULT, FaultCategory
from rescue.places.network import Network
from rescue.simulator.network import build_network
from tests.builders import OPERATOR, all_vans, load_specs, offered_events, open_app, report

SITES = 40
SEED = 20240501
MAX_OFFSET_KM = 50.0


@dataclass(frozen=True)
class Home:
    van_id: str
    station_id: str
    lat: float
    lon: float
    capabilities: frozenset[str]


@dataclass(frozen=True)
class Site:
    lat: float
    lon: float
    category: str


@pytest.fixture(scope="module")
def network() -> Network:
    return build_network()


@pytest.fixture
def app(store_url: str, network: Network) -> Iterator[Rescue]:
    with open_app(store_url) as rescue:
        load_specs(rescue, network)
        yield rescue


def random_sites(network: Network, count: int) -> list[Site]:
    """Near real cities: a random station, moved up to 50 km in a random direction."""
    rng = random.Random(SEED)
    categories = [c.value for c in FaultCategory]
    sites = []
    for _ in range(count):
        origin = rng.choice(network.stations)
        moved = Geodesic.WGS84.Direct(
            origin.lat, origin.lon, rng.uniform(0.0, 360.0), rng.uniform(0, MAX_OFFSET_KM) * 1000
        )
        sites.append(Site(moved["lat2"], moved["lon2"], rng.choice(categories)))
    return sites


def homes_from_store(app: Rescue) -> dict[str, Home]:
    """Every van as stored, placed at its station as stored."""
    stations = {}
    homes = {}
    for stored in all_vans(app):
        if stored.station_id not in stations:
            stations[stored.station_id] = app.runner.station(stored.station_id)
        at = stations[stored.station_id]
        homes[stored.van_id] = Home(
            stored.van_id, stored.station_id, at.lat, at.lon, frozenset(stored.capabilities)
        )
    return homes


def brute_force(
    homes: dict[str, Home], taken: set[str], site: Site, k: int, max_km: float
) -> list[dict[str, object]]:
    """The k nearest capable free vans by (geodesic km rounded to metres, van_id)."""
    capability = CAPABILITY_FOR_FAULT[FaultCategory(site.category)].value
    ranked = []
    for home in homes.values():
        if home.van_id in taken or capability not in home.capabilities:
            continue
        km = round(geodesic((site.lat, site.lon), (home.lat, home.lon)).km, 3)
        if km <= max_km:
            ranked.append((km, home.van_id, home.station_id))
    ranked.sort()
    return [{"van_id": v, "station_id": s, "distance_km": km} for km, v, s in ranked[:k]]


def ranking(candidates: list[dict[str, object]]) -> list[dict[str, object]]:
    keys = ("van_id", "station_id", "distance_km")
    return [{key: c[key] for key in keys} for c in candidates]


def test_offered_van_is_the_geodesic_nearest_capable_free_van(
    app: Rescue, network: Network
) -> None:
    # 1. Read every van and station back from the store: the brute force's fleet.
    homes = homes_from_store(app)
    assert len(homes) == len(network.vans) == 1101
    k = app.settings.recommendations
    max_km = app.settings.max_dispatch_km
    taken: set[str] = set()
    mismatches: list[tuple[object, ...]] = []
    for n, site in enumerate(random_sites(network, SITES)):
        # 2. Report the call: the recommendations are the brute-force top k.
        expected = brute_force(homes, taken, site, k, max_km)
        assert expected, f"site {site} has no capable van within {max_km} km"
        reply = app.dispatch.report_incident(
            report(site.lat, site.lon, site.category, n=n), OPERATOR.actor
        )
        if ranking(reply.body["recommendations"]) != expected:
            mismatches.append((n, site, "recommendations", reply.body["recommendations"], expected))
        # 3. Dispatch: the nearest of them is offered the job.
        incident_id = reply.body["incident_id"]
        offered = app.dispatch.dispatch(incident_id, OPERATOR.actor).body
        assert offered["status"] == "offered"
        if offered["van_id"] != expected[0]["van_id"]:
            mismatches.append((n, site, "offered", offered["van_id"], expected[0]))
        # 4. The offered van, read back from the store, holds this incident now.
        assert app.runner.van(offered["van_id"]).incident_id == incident_id
        taken.add(offered["van_id"])
    # 5. Exactly the offered vans are taken in the store; every other van is still free.
    held = {v.van_id for v in all_vans(app) if v.incident_id is not None}
    assert held == taken
    assert not mismatches, "\n".join(map(str, mismatches))


def test_offered_event_records_the_decision_and_its_inputs(app: Rescue, network: Network) -> None:
    params = app.settings.dispatch_params()
    for n, site in enumerate(random_sites(network, 5)):
        # 1. Report and dispatch.
        reported = app.dispatch.report_incident(
            report(site.lat, site.lon, site.category, n=n), OPERATOR.actor
        ).body
        incident_id = reported["incident_id"]
        offered = app.dispatch.dispatch(incident_id, OPERATOR.actor).body
        # 2. History has one Offered event, for the van now holding the job.
        events = offered_events(app, incident_id)
        assert len(events) == 1
        data = events[0]["data"]
        decision = data["decision"]
        assert data["van_id"] == offered["van_id"] == decision["chosen_van_id"]
        assert events[0]["actor"] == OPERATOR.actor.as_dict()
        # 3. The decision names its mode, inputs and parameters.
        assert decision["mode"] == "nearest"
        assert decision["reason"] is None
        assert decision["site"] == {"lat": site.lat, "lon": site.lon}
        assert decision["capability"] == CAPABILITY_FOR_FAULT[FaultCategory(site.category)]
        assert decision["capability"] == reported["capability"]
        assert decision["excluded_van_ids"] == []
        assert decision["params"] == {
            "position_max_age_s": params.position_max_age_s,
            "circuity": params.circuity,
            "speed_kmh": params.speed_kmh,
            "k": params.k,
            "max_dispatch_km": app.settings.max_dispatch_km,
            "eta_model": {"source": "default"},
        }
        # 4. The ranked candidates are what the operator was shown, the first one chosen.
        assert decision["candidates"] == reported["recommendations"]
        assert decision["candidates"][0]["van_id"] == offered["van_id"]
        assert data["distance_km"] == decision["candidates"][0]["distance_km"]
        assert data["eta_min"] == decision["candidates"][0]["eta_min"]
        assert all(c["origin"] == "home" for c in decision["candidates"])
        distances = [c["distance_km"] for c in decision["candidates"]]
        assert distances == sorted(distances)
