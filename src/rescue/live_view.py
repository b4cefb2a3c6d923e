"""The process's in-memory picture of the fleet and the open incidents.

Dispatch ranks vans from here (loading 10,000 van aggregates per call would be
far too slow); the choice is then checked against the van aggregate when the
offer is saved, so a picture a moment out of date can cost a retry but never
a double assignment.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rescue.dispatch import DispatchParams, FleetIndex, VanSnapshot
from rescue.vocabulary import FINAL_STATUSES, IncidentStatus

# A built index goes stale as GPS fixes age past the freshness limit even when
# nothing is written, so it is rebuilt at least this often.
INDEX_MAX_AGE_S = 30.0


@dataclass(slots=True)
class VanState:
    van_id: str
    call_sign: str
    station_id: str
    capabilities: frozenset[str]
    on_duty: bool = False
    incident_id: str | None = None
    engaged: bool = False
    lat: float | None = None
    lon: float | None = None
    position_at: datetime | None = None

    @property
    def status(self) -> str:
        if self.incident_id is not None:
            return "busy" if self.engaged else "offered"
        return "available" if self.on_duty else "off_duty"


@dataclass(slots=True)
class IncidentSummary:
    incident_id: str
    status: str
    priority: int
    capability: str
    lat: float
    lon: float
    reported_at: datetime
    updated_at: datetime
    vin: str
    plate: str | None
    van_id: str | None = None
    station_id: str | None = None
    offer_expires_at: datetime | None = None

    def as_public(self) -> dict[str, Any]:
        return {
            "incident_id": self.incident_id,
            "status": self.status,
            "priority": self.priority,
            "capability": self.capability,
            "location": {"lat": self.lat, "lon": self.lon},
            "reported_at": self.reported_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "vin": self.vin,
            "plate": self.plate,
            "van_id": self.van_id,
            "station_id": self.station_id,
        }


@dataclass
class LiveView:
    stations: dict[str, dict[str, Any]] = field(default_factory=dict)
    vans: dict[str, VanState] = field(default_factory=dict)
    incidents: dict[str, IncidentSummary] = field(default_factory=dict)
    _van_by_uuid: dict[Any, str] = field(default_factory=dict)
    _van_by_track: dict[Any, str] = field(default_factory=dict)
    _station_by_uuid: dict[Any, str] = field(default_factory=dict)
    _index: FleetIndex | None = None
    _index_built_at: datetime | None = None
    _lock: threading.RLock = field(default_factory=threading.RLock)

    # -- applying events ----------------------------------------------------

    def apply(self, position: int, event: Any) -> None:
        handler = _HANDLERS.get(type(event).__qualname__)
        if handler is not None:
            with self._lock:
                handler(self, event)

    def _fleet_changed(self) -> None:
        self._index = None

    # -- queries ------------------------------------------------------------

    def fleet_index(self, now: datetime, params: DispatchParams) -> FleetIndex:
        with self._lock:
            fresh = (
                self._index is not None
                and self._index_built_at is not None
                and (now - self._index_built_at).total_seconds() < INDEX_MAX_AGE_S
            )
            if not fresh or self._index is None:
                self._index = FleetIndex(self._snapshots(), now, params)
                self._index_built_at = now
            return self._index

    def _snapshots(self) -> Iterable[VanSnapshot]:
        for van in self.vans.values():
            station = self.stations.get(van.station_id)
            if station is None:
                continue
            yield VanSnapshot(
                van_id=van.van_id,
                station_id=van.station_id,
                capabilities=van.capabilities,
                on_duty=van.on_duty,
                available=van.incident_id is None,
                home_lat=station["lat"],
                home_lon=station["lon"],
                position_lat=van.lat,
                position_lon=van.lon,
                position_at=van.position_at,
            )

    def queued(self) -> list[IncidentSummary]:
        """Queued incidents, most urgent first, then oldest first."""
        with self._lock:
            waiting = [i for i in self.incidents.values() if i.status == IncidentStatus.QUEUED]
        return sorted(waiting, key=lambda i: (i.priority, i.reported_at, i.incident_id))

    def offers_due(self, now: datetime) -> list[IncidentSummary]:
        with self._lock:
            return [
                i
                for i in self.incidents.values()
                if i.status == IncidentStatus.OFFERED
                and i.offer_expires_at is not None
                and i.offer_expires_at <= now
            ]

    def incidents_with(self, status: str | None, limit: int) -> list[dict[str, Any]]:
        with self._lock:
            chosen = [i for i in self.incidents.values() if status is None or i.status == status]
        chosen.sort(key=lambda i: i.reported_at, reverse=True)
        return [i.as_public() for i in chosen[:limit]]

    def free_vans_exist(self) -> bool:
        with self._lock:
            return any(v.on_duty and v.incident_id is None for v in self.vans.values())


# -- event handlers, by event class qualname (module-independent, as stored topics are) --


def _station_registered(view: LiveView, e: Any) -> None:
    view.stations[e.station_id] = {
        "station_id": e.station_id,
        "name": e.name,
        "tier": e.tier,
        "lat": e.lat,
        "lon": e.lon,
        "capabilities": list(e.capabilities),
        "radius_km": e.radius_km,
    }
    view._station_by_uuid[e.originator_id] = e.station_id
    view._fleet_changed()


def _station_edited(view: LiveView, e: Any) -> None:
    station_id = view._station_by_uuid.get(e.originator_id)
    if station_id is not None:
        view.stations[station_id].update(e.changes)
    view._fleet_changed()


def _van_registered(view: LiveView, e: Any) -> None:
    view.vans[e.van_id] = VanState(
        van_id=e.van_id,
        call_sign=e.call_sign,
        station_id=e.station_id,
        capabilities=frozenset(e.capabilities),
    )
    view._van_by_uuid[e.originator_id] = e.van_id
    view._fleet_changed()


def _van(view: LiveView, e: Any) -> VanState | None:
    van_id = view._van_by_uuid.get(e.originator_id)
    return view.vans.get(van_id) if van_id is not None else None


def _van_shift_changed(view: LiveView, e: Any) -> None:
    van = _van(view, e)
    if van is not None:
        van.on_duty = e.on_duty
        view._fleet_changed()


def _van_offered(view: LiveView, e: Any) -> None:
    van = _van(view, e)
    if van is not None:
        van.incident_id = e.incident_id
        van.engaged = False
        view._fleet_changed()


def _van_engaged(view: LiveView, e: Any) -> None:
    van = _van(view, e)
    if van is not None:
        van.engaged = True


def _van_released(view: LiveView, e: Any) -> None:
    van = _van(view, e)
    if van is not None:
        van.incident_id = None
        van.engaged = False
        view._fleet_changed()


def _track_started(view: LiveView, e: Any) -> None:
    view._van_by_track[e.originator_id] = e.van_id


def _position_reported(view: LiveView, e: Any) -> None:
    van_id = view._van_by_track.get(e.originator_id)
    van = view.vans.get(van_id) if van_id is not None else None
    if van is None:
        return
    if van.position_at is None or e.recorded_at > van.position_at:
        van.lat, van.lon, van.position_at = e.lat, e.lon, e.recorded_at
        view._fleet_changed()


def _incident_reported(view: LiveView, e: Any) -> None:
    incident_id = str(e.originator_id)
    view.incidents[incident_id] = IncidentSummary(
        incident_id=incident_id,
        status=IncidentStatus.REPORTED.value,
        priority=e.priority,
        capability=e.capability,
        lat=e.location["lat"],
        lon=e.location["lon"],
        reported_at=e.timestamp,
        updated_at=e.timestamp,
        vin=e.vehicle["vin"],
        plate=e.vehicle.get("plate"),
    )


def _incident_step(status: IncidentStatus | None) -> Callable[[LiveView, Any], None]:
    def handle(view: LiveView, e: Any) -> None:
        summary = view.incidents.get(str(e.originator_id))
        if summary is None:
            return
        summary.updated_at = e.timestamp
        if status is not None:
            summary.status = status.value
        name = type(e).__qualname__
        if name == "Incident.Offered":
            summary.van_id = e.van_id
            summary.station_id = e.station_id
            summary.offer_expires_at = e.expires_at
        elif name in ("Incident.Queued", "Incident.Declined", "Incident.OfferExpired"):
            summary.van_id = None
            summary.station_id = None
            summary.offer_expires_at = None
        elif name == "Incident.Accepted":
            summary.offer_expires_at = None
        elif name == "Incident.Resolved" and e.outcome == "towed":
            summary.status = IncidentStatus.TOWING.value
        if IncidentStatus(summary.status) in FINAL_STATUSES:
            summary.offer_expires_at = None

    return handle


S = IncidentStatus
_HANDLERS: dict[str, Callable[[LiveView, Any], None]] = {
    "Station.Registered": _station_registered,
    "Station.Edited": _station_edited,
    "Van.Registered": _van_registered,
    "Van.ShiftChanged": _van_shift_changed,
    "Van.Offered": _van_offered,
    "Van.Engaged": _van_engaged,
    "Van.Released": _van_released,
    "VanTrack.Started": _track_started,
    "VanTrack.PositionReported": _position_reported,
    "Incident.Reported": _incident_reported,
    "Incident.Offered": _incident_step(S.OFFERED),
    "Incident.Queued": _incident_step(S.QUEUED),
    "Incident.Declined": _incident_step(S.REPORTED),
    "Incident.OfferExpired": _incident_step(S.REPORTED),
    "Incident.Accepted": _incident_step(S.ACCEPTED),
    "Incident.Departed": _incident_step(S.EN_ROUTE),
    "Incident.Arrived": _incident_step(S.ON_SCENE),
    "Incident.Diagnosed": _incident_step(None),
    "Incident.Resolved": _incident_step(None),
    "Incident.Completed": _incident_step(S.COMPLETED),
    "Incident.Cancelled": _incident_step(S.CANCELLED),
    "Incident.Closed": _incident_step(S.CLOSED),
}
