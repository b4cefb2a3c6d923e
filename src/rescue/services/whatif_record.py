"""What a what-if replays: the calls of a period as recorded, the network, duty and GPS.

Read from the log once, into plain records the replay works on without the
store: every call reported in the period with what happened to it (offers,
declines, departure, arrival, completion or cancellation), the stations and
vans as registered, each van's shifts, and the vans' GPS fixes over the
period (the dispatch rule measures from a fresh fix, so the replay must too).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from rescue.domain.dispatch import DispatchParams
from rescue.domain.ids import track_uuid
from rescue.places.network import Network, StationSpec, VanSpec
from rescue.places.provinces import province_of
from rescue.services.recorded import recorded_events
from rescue.services.store import RescueStore
from rescue.store.codec import POSITION_TOPICS, position_fixes

__all__ = ["RecordedCall", "RecordedPeriod", "read_period"]

CALL_EVENTS = (
    "Incident.Reported",
    "Incident.Offered",
    "Incident.Queued",
    "Incident.Declined",
    "Incident.OfferExpired",
    "Incident.Departed",
    "Incident.Arrived",
    "Incident.Completed",
    "Incident.Cancelled",
)
NETWORK_EVENTS = ("Station.Registered", "Station.Edited", "Van.Registered", "Van.ShiftChanged")
PAGE = 5000


@dataclass(slots=True)
class RecordedCall:
    incident_id: str
    reported_at: datetime
    lat: float
    lon: float
    province: str | None
    capability: str
    priority: int
    first_van_id: str | None = None  # the first van offered the job, by the rule or an operator
    first_mode: str | None = None  # "nearest", "queue", "reoffer" or "override"
    first_offered_at: datetime | None = None
    final_van_id: str | None = None  # the van that had the job last
    final_station_id: str | None = None
    final_km: float | None = None
    final_offered_at: datetime | None = None
    queued: bool = False
    declines: int = 0  # declined or left unanswered
    overridden: bool = False
    departed_at: datetime | None = None
    arrived_at: datetime | None = None
    ended_at: datetime | None = None  # completed or cancelled: the van is free again
    cancelled: bool = False

    @property
    def depends_on_a_decision(self) -> bool:
        """A crew declined or ignored it, or an operator chose the van: not the rule's answer."""
        return self.declines > 0 or self.overridden

    @property
    def answer_to_arrival_min(self) -> float | None:
        if self.arrived_at is None:
            return None
        return (self.arrived_at - self.reported_at).total_seconds() / 60


@dataclass
class RecordedPeriod:
    start: datetime
    end: datetime
    calls: list[RecordedCall]
    network: Network
    shifts: dict[str, list[tuple[datetime, bool]]]  # van -> (when, on duty), in order
    fixes: dict[str, tuple[list[datetime], list[tuple[float, float]]]] = field(default_factory=dict)
    first_decision_at: datetime | None = None  # the period's first decline, expiry or override

    def on_duty(self, van_id: str, moment: datetime) -> bool:
        changes = self.shifts.get(van_id)
        if not changes:
            return False
        times = [t for t, _ in changes]
        i = bisect.bisect_right(times, moment)
        return changes[i - 1][1] if i else False

    def fresh_fix(
        self, van_id: str, moment: datetime, params: DispatchParams
    ) -> tuple[float, float, datetime] | None:
        """The van's newest fix at `moment` if the dispatch rule would still use it."""
        track = self.fixes.get(van_id)
        if track is None:
            return None
        times, points = track
        i = bisect.bisect_right(times, moment)
        if not i:
            return None
        at = times[i - 1]
        if (moment - at).total_seconds() > params.position_max_age_s:
            return None
        return points[i - 1][0], points[i - 1][1], at


def _network(store: RescueStore) -> tuple[Network, dict[str, list[tuple[datetime, bool]]]]:
    stations: dict[str, dict[str, Any]] = {}
    station_of_uuid: dict[Any, str] = {}
    vans: dict[str, VanSpec] = {}
    van_of_uuid: dict[Any, str] = {}
    shifts: dict[str, list[tuple[datetime, bool]]] = defaultdict(list)
    for _, e in recorded_events(store, NETWORK_EVENTS):
        name = type(e).__qualname__
        if name == "Station.Registered":
            station_of_uuid[e.originator_id] = e.station_id
            stations[e.station_id] = {
                "station_id": e.station_id,
                "name": e.name,
                "tier": e.tier,
                "lat": float(e.lat),
                "lon": float(e.lon),
                "capabilities": tuple(e.capabilities),
                "radius_km": float(e.radius_km),
            }
        elif name == "Station.Edited":
            known = stations.get(station_of_uuid.get(e.originator_id, ""))
            if known is not None:
                known.update({k: v for k, v in e.changes.items() if k in known})
        elif name == "Van.Registered":
            van_of_uuid[e.originator_id] = e.van_id
            vans[e.van_id] = VanSpec(e.van_id, e.call_sign, e.station_id, tuple(e.capabilities))
        elif name == "Van.ShiftChanged":
            van_id = van_of_uuid.get(e.originator_id)
            if van_id is not None:
                shifts[van_id].append((e.timestamp, bool(e.on_duty)))
    specs = tuple(
        StationSpec(
            city="",
            province=province_of(s["lat"], s["lon"]) or "",
            **{k: s[k] for k in ("station_id", "name", "tier", "lat", "lon", "radius_km")},
            capabilities=tuple(s["capabilities"]),
        )
        for s in stations.values()
    )
    return Network(stations=specs, vans=tuple(vans.values())), dict(shifts)


def _calls(store: RescueStore, start: datetime, end: datetime) -> list[RecordedCall]:
    calls: dict[Any, RecordedCall] = {}
    for _, e in recorded_events(store, CALL_EVENTS):
        name = type(e).__qualname__
        if name == "Incident.Reported":
            if start <= e.timestamp < end:
                lat, lon = float(e.location["lat"]), float(e.location["lon"])
                calls[e.originator_id] = RecordedCall(
                    incident_id=str(e.originator_id),
                    reported_at=e.timestamp,
                    lat=lat,
                    lon=lon,
                    province=province_of(lat, lon),
                    capability=e.capability,
                    priority=int(e.priority),
                )
            continue
        call = calls.get(e.originator_id)
        if call is None:
            continue
        if name == "Incident.Offered":
            mode = (e.decision or {}).get("mode")
            if call.first_van_id is None:
                call.first_van_id, call.first_mode = e.van_id, mode
                call.first_offered_at = e.timestamp
            call.overridden = call.overridden or mode == "override"
            call.final_van_id, call.final_station_id = e.van_id, e.station_id
            call.final_km, call.final_offered_at = e.distance_km, e.timestamp
        elif name == "Incident.Queued":
            call.queued = True
        elif name in ("Incident.Declined", "Incident.OfferExpired"):
            call.declines += 1
        elif name == "Incident.Departed":
            call.departed_at = e.timestamp
        elif name == "Incident.Arrived":
            call.arrived_at = e.timestamp
        elif name == "Incident.Completed":
            call.ended_at = e.timestamp
        elif name == "Incident.Cancelled":
            call.ended_at, call.cancelled = e.timestamp, True
    return sorted(calls.values(), key=lambda c: (c.reported_at, c.incident_id))


def _fixes(
    store: RescueStore, van_of_track: dict[str, str], start: datetime, end: datetime
) -> dict[str, tuple[list[datetime], list[tuple[float, float]]]]:
    """Each van's fixes recorded from a little before the period to its end, in time order."""
    since = start - timedelta(hours=1)
    rows: dict[str, list[tuple[datetime, float, float]]] = defaultdict(list)
    recorder, mapper = store.recorder, store.mapper
    head = recorder.max_notification_id() or 0
    position = 0
    while position < head:
        page = recorder.select_notifications(
            start=position,
            limit=PAGE,
            stop=head,
            topics=sorted(POSITION_TOPICS),
            inclusive_of_start=False,
        )
        if not page:
            break
        fixes = position_fixes(mapper, [n.state for n in page])
        for notification, (_, lat, lon, recorded_at, *_) in zip(page, fixes, strict=True):
            key = notification.originator_id
            van_id = van_of_track.get(key.hex if isinstance(key, UUID) else UUID(key).hex)
            if van_id is None:
                continue
            at = datetime.fromisoformat(recorded_at)
            if since <= at <= end:
                rows[van_id].append((at, lat, lon))
        position = page[-1].id
    tracks = {}
    for van_id, found in rows.items():
        found.sort()
        tracks[van_id] = ([r[0] for r in found], [(r[1], r[2]) for r in found])
    return tracks


def read_period(
    store: RescueStore, start: datetime, end: datetime, *, with_fixes: bool = True
) -> RecordedPeriod:
    """The calls reported in [start, end), the recorded network and shifts, and the GPS
    (not read without `with_fixes`: the figures of the record do not need it)."""
    network, shifts = _network(store)
    calls = _calls(store, start, end)
    van_of_track = {track_uuid(v.van_id).hex: v.van_id for v in network.vans}
    # A call is reported before anyone declines it: a lower bound of the first decision.
    decided = [c.reported_at for c in calls if c.depends_on_a_decision]
    return RecordedPeriod(
        start=start,
        end=end,
        calls=calls,
        network=network,
        shifts=shifts,
        fixes=_fixes(store, van_of_track, start, end) if with_fixes else {},
        first_decision_at=min(decided, default=None),
    )
