"""Builders shared by the integration tests: apps on a store, small networks, call reports.

Everything here talks to the application the way the product does (commands on
`Rescue`, or HTTP through `create_app`); the only shortcuts are reading the
event log directly to count rows and to load every aggregate of a kind.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic
from fastapi.testclient import TestClient

import rescue.store.privacy
from rescue.api.main import create_app
from rescue.bootstrap import Rescue, bootstrap
from rescue.domain.access import Principal
from rescue.domain.actors import Actor
from rescue.domain.ids import track_uuid
from rescue.domain.incidents import Incident
from rescue.domain.tracks import VanTrack
from rescue.domain.validation import vin_with_check_digit
from rescue.domain.vans import Van
from rescue.domain.vocabulary import VAN_BOUND_STATUSES, Capability, IncidentStatus
from rescue.places.network import Network
from rescue.services.clock import Clock, utcnow
from rescue.settings import Settings

ADMIN = Actor(role="admin", name="t")
OPERATOR = Principal("op-1", "operator", None)
ALL_CAPABILITIES = tuple(c.value for c in Capability)


class FakeClock:
    """A clock the test moves by hand; starts at the real time so HTTP time checks still hold."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


# -- apps ---------------------------------------------------------------------------


def settings_for(store_url: str, **overrides: Any) -> Settings:
    return Settings(db=store_url, cipher_key=rescue.store.privacy.new_key(), **overrides)


def replayed_track(app: Rescue, van_id: str) -> VanTrack:
    """The van's track as a replay of its stored events, one by one, leaves it."""
    track: VanTrack | None = None
    for event in app.store.events.get(track_uuid(van_id)):
        track = event.mutate(track)
    assert track is not None
    return track


@contextmanager
def open_app(store_url: str, clock: Clock = utcnow, **overrides: Any) -> Iterator[Rescue]:
    app = bootstrap(settings_for(store_url, **overrides), clock=clock)
    try:
        yield app
    finally:
        app.close()


# -- networks -----------------------------------------------------------------------


def station(
    station_id: str,
    lat: float,
    lon: float,
    *,
    tier: str = "service_point",
    capabilities: Sequence[str] = ALL_CAPABILITIES,
    radius_km: float = 60.0,
) -> dict[str, Any]:
    return {
        "station_id": station_id,
        "name": f"station {station_id}",
        "tier": tier,
        "lat": lat,
        "lon": lon,
        "capabilities": list(capabilities),
        "radius_km": radius_km,
    }


def van(
    van_id: str, station_id: str, capabilities: Sequence[str] = ALL_CAPABILITIES
) -> dict[str, Any]:
    return {
        "van_id": van_id,
        "call_sign": f"call-{van_id}",
        "station_id": station_id,
        "capabilities": list(capabilities),
    }


def load(app: Rescue, stations: Sequence[dict[str, Any]], vans: Sequence[dict[str, Any]]) -> None:
    app.network.load_network(stations, vans, ADMIN)


def load_specs(app: Rescue, net: Network) -> None:
    load(
        app,
        [dataclasses.asdict(s) for s in net.stations],
        [dataclasses.asdict(v) for v in net.vans],
    )


# Zhengzhou, where headquarters is; the small networks are laid out due north of it.
ZZ_LAT, ZZ_LON = 34.75, 113.62


def line_network(
    n: int, *, step_deg: float = 0.05, capabilities: Sequence[str] = ALL_CAPABILITIES
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Stations S1..Sn going north from Zhengzhou, one van V1..Vn at each: V1 is nearest."""
    stations = [station(f"S{i}", ZZ_LAT + (i - 1) * step_deg, ZZ_LON) for i in range(1, n + 1)]
    vans = [van(f"V{i}", f"S{i}", capabilities) for i in range(1, n + 1)]
    return stations, vans


# -- calls --------------------------------------------------------------------------


def vin(n: int) -> str:
    return str(vin_with_check_digit(f"LJNTGU2S0JN{n % 1_000_000:06d}"))


def report(
    lat: float = ZZ_LAT - 0.01,
    lon: float = ZZ_LON,
    category: str = "battery",
    *,
    n: int = 1,
    injury: bool = False,
) -> dict[str, Any]:
    """A valid `POST /api/incidents` body, which is also what `report_incident` takes."""
    return {
        "caller": {"name": "Wang Wei", "phone": "13800138000"},
        "vehicle": {
            "vin": vin(n),
            "plate": "豫A12345",
            "model_series": "PALADIN",
            "odometer_km": 42_000,
            "sold_on": "2022-03-01",
        },
        "location": {"lat": lat, "lon": lon, "description": "G4 expressway, km 712"},
        "fault": {"category": category, "description": "will not start"},
        "safety": {
            "on_expressway": False,
            "at_night": False,
            "passengers": 0,
            "injury": injury,
            "vulnerable": False,
        },
    }


def crew(van_id: str) -> Principal:
    return Principal(f"crew-{van_id}", "crew", van_id)


def reported(app: Rescue, body: dict[str, Any]) -> str:
    """Reports a call as the operator; returns the new incident's id."""
    result = app.dispatch.report_incident(body, OPERATOR.actor)
    assert result.created, result
    return str(result.body["incident_id"])


# A repair on site, step by step, as a crew sends it over HTTP or its socket.
REPAIR_STEPS: list[tuple[str, dict[str, Any] | None]] = [
    ("accept", {"eta_min": 9}),
    ("depart", None),
    ("arrive", None),
    ("diagnose", {"cause": "battery cell failure", "parts": [], "findings": []}),
    ("resolve", {"outcome": "repaired_on_site"}),
    ("complete", {"customer_signed": True, "satisfaction": 5}),
]


def work_to_completion(
    app: Rescue, incident_id: str, van_id: str, *, tow_station_id: str | None = None
) -> None:
    """The crew of `van_id` accepts, drives out, fixes or tows, and completes."""
    crew_of_van = crew(van_id)
    app.steps.take(incident_id, "accept", {"eta_min": 20.0}, crew_of_van)
    app.steps.take(incident_id, "depart", {}, crew_of_van)
    app.steps.take(incident_id, "arrive", {}, crew_of_van)
    if tow_station_id is None:
        resolution = {"outcome": "repaired_on_site", "tow_station_id": None}
    else:
        resolution = {"outcome": "towed", "tow_station_id": tow_station_id}
    app.steps.take(incident_id, "resolve", resolution, crew_of_van)
    app.steps.take(
        incident_id, "complete", {"customer_signed": True, "satisfaction": 5}, crew_of_van
    )


# -- reading the log ----------------------------------------------------------------


def notification_count(app: Rescue) -> int:
    return len(app.store.recorder.select_notifications(start=None, limit=10**6))


def ids_with(app: Rescue, event_class: type) -> list[UUID]:
    """Originator ids of every stored event of one class, in log order."""
    notes = app.store.recorder.select_notifications(
        start=None, limit=10**6, topics=[get_topic(event_class)]
    )
    return [n.originator_id for n in notes]


def all_incidents(app: Rescue) -> list[Incident]:
    return [app.store.repository.get(i) for i in ids_with(app, Incident.Reported)]


def all_vans(app: Rescue) -> list[Van]:
    return [app.store.repository.get(i) for i in ids_with(app, Van.Registered)]


def event_types(app: Rescue, incident_id: str) -> list[str]:
    return [e["type"] for e in app.queries.history(incident_id, None, with_caller=False)["events"]]


def offered_events(app: Rescue, incident_id: str) -> list[dict[str, Any]]:
    events = app.queries.history(incident_id, None, with_caller=False)["events"]
    return [e for e in events if e["type"] == "Offered"]


def binding_violations(app: Rescue) -> list[str]:
    """Every way the store breaks "a van and its incident point at each other, one to one".

    Read from the store (not the live view): all incidents and all vans.
    """
    incidents = {str(i.id): i for i in all_incidents(app)}
    vans = {v.van_id: v for v in all_vans(app)}
    problems: list[str] = []
    bound_to: dict[str, list[str]] = {}
    for incident_id, incident in incidents.items():
        if incident.status in VAN_BOUND_STATUSES:
            if incident.van_id is None:
                problems.append(f"incident {incident_id} is {incident.status} without a van")
                continue
            bound_to.setdefault(incident.van_id, []).append(incident_id)
            holder = vans.get(incident.van_id)
            if holder is None or holder.incident_id != incident_id:
                problems.append(
                    f"incident {incident_id} ({incident.status}) points at van "
                    f"{incident.van_id}, which holds {holder.incident_id if holder else '?'}"
                )
            elif holder.engaged != (incident.status is not IncidentStatus.OFFERED):
                problems.append(
                    f"van {holder.van_id} engaged={holder.engaged} but its incident "
                    f"{incident_id} is {incident.status}"
                )
    for van_id, held in bound_to.items():
        if len(held) > 1:
            problems.append(f"van {van_id} is bound to {len(held)} incidents: {held}")
    for van_id, held_van in vans.items():
        if held_van.incident_id is None:
            continue
        incident = incidents.get(held_van.incident_id)
        if (
            incident is None
            or incident.status not in VAN_BOUND_STATUSES
            or incident.van_id != van_id
        ):
            problems.append(
                f"van {van_id} holds incident {held_van.incident_id}, which is "
                f"{incident.status if incident else 'missing'} with van "
                f"{incident.van_id if incident else None}"
            )
    return problems


# -- HTTP ---------------------------------------------------------------------------


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class HttpWorld:
    """A served app with the line network V1, V2 and a token per kind of user."""

    client: TestClient
    app: Rescue
    headers: dict[str, dict[str, str]]

    def post(self, path: str, who: str | None, **kwargs: Any) -> Any:
        return self.client.post(path, headers=self._auth(who, kwargs), **kwargs)

    def get(self, path: str, who: str | None, **kwargs: Any) -> Any:
        return self.client.get(path, headers=self._auth(who, kwargs), **kwargs)

    def _auth(self, who: str | None, kwargs: dict[str, Any]) -> dict[str, str]:
        extra = kwargs.pop("headers", None) or {}
        return {**(self.headers[who] if who else {}), **extra}


USERS: dict[str, tuple[str, str | None]] = {
    "operator": ("operator", None),
    "auditor": ("auditor", None),
    "admin": ("admin", None),
    "crew1": ("crew", "V1"),
    "crew2": ("crew", "V2"),
}


@contextmanager
def served(store_url: str, clock: Clock = utcnow, **overrides: Any) -> Iterator[HttpWorld]:
    with TestClient(create_app(settings_for(store_url, **overrides), clock=clock)) as client:
        app: Rescue = client.app.state.rescue  # type: ignore[attr-defined]
        load(app, *line_network(2))
        headers = {
            who: bearer(app.access.add_user(f"user-{who}", role, van_id, ADMIN))
            for who, (role, van_id) in USERS.items()
        }
        yield HttpWorld(client, app, headers)


def position(seconds_ago: float = 5.0, **changes: Any) -> dict[str, Any]:
    at = datetime.now(UTC) - timedelta(seconds=seconds_ago)
    return {
        "lat": ZZ_LAT,
        "lon": ZZ_LON,
        "recorded_at": at.isoformat(),
        "speed_kmh": 40.0,
        "heading": 90.0,
        "accuracy_m": 8.0,
        **changes,
    }


def locs(response: Any) -> list[list[Any]]:
    """The `loc` paths of a 422 body's `detail` list (empty if detail is not such a list)."""
    detail = response.json().get("detail")
    if not isinstance(detail, list):
        return []
    return [list(d.get("loc", [])) for d in detail if isinstance(d, dict)]
