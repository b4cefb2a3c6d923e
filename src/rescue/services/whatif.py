"""What if the network had been different: the recorded calls replayed through the dispatch rule.

The calls of a period are taken in time order and offered, by the same rule
(`FleetIndex`, the same parameters, ranked by the same ETA model) to the vans
of a changed network. Each call is offered when it was first offered in the
record (the operator took as long as they did), or, if it was queued then,
the median operator delay after it was reported. A van is busy from its offer
for what the recorded job took:

- the same van at the same distance as recorded: exactly the recorded times
  (offer to arrival, offer to release), so an unchanged network replays the
  record;
- another van or distance: the recorded handling (offer to departure), the
  ETA model's drive for the new distance, then the recorded time on scene;
- a call the caller cancelled: the cancel comes when it came; a van that
  would have arrived before it reaches the call and stays the period's median
  time on scene.

Crews accept every offer in the replay: a call that a crew declined or an
operator gave to a van of their choice cannot be reproduced, and is counted
apart (`depends_on_a_decision`). A free van is measured from its recorded
GPS fix if the dispatch rule would have used it and the van is where it was
(same station), else from its home station. Vans whose shift the log
records keep their shifts; vans new in the changed network are on duty
throughout. Nothing is written to the store.
"""

from __future__ import annotations

import heapq
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rescue.domain.dispatch import Candidate, DispatchParams, FleetIndex, VanSnapshot
from rescue.domain.eta import EtaTable, hour_band
from rescue.places.network import Network
from rescue.services.store import RescueStore
from rescue.services.whatif_record import RecordedCall, RecordedPeriod, read_period

__all__ = ["ReplayedCall", "queueing_figures", "replay", "summarise", "what_if"]

# Events at one moment: vans are released before calls are offered, as the
# server offers queued calls on a release before the next call is taken.
_RELEASE, _CANCEL, _CALL = 0, 1, 2


@dataclass(slots=True)
class ReplayedCall:
    incident_id: str
    van_id: str | None = None
    station_id: str | None = None
    km: float | None = None
    offered_at: datetime | None = None
    arrived_at: datetime | None = None
    queued: bool = False

    def answer_to_arrival_min(self, reported_at: datetime) -> float | None:
        if self.arrived_at is None:
            return None
        return (self.arrived_at - reported_at).total_seconds() / 60


def _median_s(values: Sequence[float], fallback: float) -> float:
    return statistics.median(values) if values else fallback


class _Replay:
    def __init__(
        self,
        period: RecordedPeriod,
        network: Network,
        table: EtaTable,
        params: DispatchParams,
        max_dispatch_km: float,
    ) -> None:
        self.period = period
        self.table = table
        self.params = params
        self.max_km = max_dispatch_km
        self.stations = {s.station_id: s for s in network.stations}
        self.vans = [v for v in network.vans if v.station_id in self.stations]
        recorded_home = {v.van_id: v.station_id for v in period.network.vans}
        recorded_at = {s.station_id: (s.lat, s.lon) for s in period.network.stations}
        self.in_place = {
            v.van_id
            for v in self.vans
            if recorded_home.get(v.van_id) == v.station_id
            and recorded_at.get(v.station_id)
            == (self.stations[v.station_id].lat, self.stations[v.station_id].lon)
        }
        self.recorded_vans = set(recorded_home)
        self.busy_until: dict[str, datetime] = {}
        self.results = {c.incident_id: ReplayedCall(c.incident_id) for c in period.calls}
        self.queue: dict[str, RecordedCall] = {}
        self.heap: list[tuple[datetime, int, int, str]] = []
        self.seq = 0
        calls = period.calls
        self.operator_s = _median_s(
            [
                (c.first_offered_at - c.reported_at).total_seconds()
                for c in calls
                if c.first_offered_at is not None and not c.queued
            ],
            60.0,
        )
        self.handling_s = _median_s(
            [
                (c.departed_at - c.final_offered_at).total_seconds()
                for c in calls
                if c.departed_at is not None and c.final_offered_at is not None
            ],
            180.0,
        )
        self.scene_s = _median_s(
            [
                (c.ended_at - c.arrived_at).total_seconds()
                for c in calls
                if c.ended_at is not None and c.arrived_at is not None
            ],
            1800.0,
        )

    def _push(self, at: datetime, kind: int, key: str) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (at, kind, self.seq, key))

    def _snapshots(self, now: datetime) -> list[VanSnapshot]:
        snapshots = []
        for van in self.vans:
            busy = self.busy_until.get(van.van_id)
            if busy is not None and busy > now:
                continue
            on_duty = (
                self.period.on_duty(van.van_id, now) if van.van_id in self.recorded_vans else True
            )
            if not on_duty:
                continue
            home = self.stations[van.station_id]
            fix = (
                self.period.fresh_fix(van.van_id, now, self.params)
                if van.van_id in self.in_place
                else None
            )
            snapshots.append(
                VanSnapshot(
                    van_id=van.van_id,
                    station_id=van.station_id,
                    capabilities=frozenset(van.capabilities),
                    on_duty=True,
                    available=True,
                    home_lat=home.lat,
                    home_lon=home.lon,
                    position_lat=fix[0] if fix else None,
                    position_lon=fix[1] if fix else None,
                    position_at=fix[2] if fix else None,
                )
            )
        return snapshots

    def _choose(self, call: RecordedCall, index: FleetIndex, taken: set[str]) -> Candidate | None:
        candidates = index.nearest(call.lat, call.lon, call.capability, exclude=taken)
        in_range = [c for c in candidates if c.distance_km <= self.max_km]
        return in_range[0] if in_range else None

    def _offer(self, call: RecordedCall, chosen: Candidate, now: datetime) -> None:
        result = self.results[call.incident_id]
        result.van_id, result.station_id = chosen.van_id, chosen.station_id
        result.km, result.offered_at = chosen.distance_km, now
        same = (
            chosen.van_id == call.final_van_id
            and call.final_km is not None
            and abs(chosen.distance_km - call.final_km) < 0.01
            and call.final_offered_at is not None
        )
        if same and call.final_offered_at is not None and call.ended_at is not None:
            if call.arrived_at is not None:
                result.arrived_at = now + (call.arrived_at - call.final_offered_at)
            release = now + (call.ended_at - call.final_offered_at)
        else:
            handling = (
                (call.departed_at - call.final_offered_at).total_seconds()
                if call.departed_at is not None and call.final_offered_at is not None
                else self.handling_s
            )
            drive_min = chosen.distance_km * self._min_per_km(call, now)
            arrival = now + timedelta(seconds=handling + drive_min * 60)
            scene = (
                (call.ended_at - call.arrived_at).total_seconds()
                if call.ended_at is not None and call.arrived_at is not None
                else self.scene_s
            )
            if call.cancelled and call.arrived_at is None and call.ended_at is not None:
                # The caller cancelled when they did; a van there before that reached them.
                if arrival <= call.ended_at:
                    result.arrived_at = arrival
                    release = arrival + timedelta(seconds=self.scene_s)
                else:
                    release = max(now, call.ended_at)
            else:
                result.arrived_at = arrival
                release = arrival + timedelta(seconds=scene)
        self.busy_until[chosen.van_id] = release
        self._push(release, _RELEASE, chosen.van_id)

    def _min_per_km(self, call: RecordedCall, now: datetime) -> float:
        cell = self.table.cell_for(call.province, hour_band(now))
        if cell is None:
            return self.table.circuity / self.table.speed_kmh * 60
        return cell.min_per_km

    def run(self) -> dict[str, ReplayedCall]:
        by_id = {c.incident_id: c for c in self.period.calls}
        for call in self.period.calls:
            at = (
                call.first_offered_at
                if call.first_offered_at is not None and not call.queued
                else call.reported_at + timedelta(seconds=self.operator_s)
            )
            if call.ended_at is not None and call.ended_at < at:
                # Cancelled before anyone could be offered it: nothing to replay.
                continue
            self._push(at, _CALL, call.incident_id)
            if call.cancelled and call.ended_at is not None:
                self._push(call.ended_at, _CANCEL, call.incident_id)
        while self.heap:
            now, kind, _, key = heapq.heappop(self.heap)
            if kind == _CALL:
                call = by_id[key]
                chosen = self._choose(
                    call, FleetIndex(self._snapshots(now), now, self.params), set()
                )
                if chosen is None:
                    self.results[key].queued = True
                    self.queue[key] = call
                else:
                    self._offer(call, chosen, now)
            elif kind == _CANCEL:
                self.queue.pop(key, None)
            elif self.queue:
                self._offer_queued(now)
        return self.results

    def _offer_queued(self, now: datetime) -> None:
        """Most urgent, then oldest first, while free vans last (as the server does)."""
        index = FleetIndex(self._snapshots(now), now, self.params)
        taken: set[str] = set()
        for call in sorted(
            self.queue.values(), key=lambda c: (c.priority, c.reported_at, c.incident_id)
        ):
            chosen = self._choose(call, index, taken)
            if chosen is None:
                continue
            taken.add(chosen.van_id)
            del self.queue[call.incident_id]
            self._offer(call, chosen, now)


def replay(
    period: RecordedPeriod,
    network: Network,
    table: EtaTable,
    params: DispatchParams,
    max_dispatch_km: float,
) -> dict[str, ReplayedCall]:
    """Each recorded call as the changed network would have answered it, by incident id."""
    return _Replay(period, network, table, params, max_dispatch_km).run()


# -- figures --------------------------------------------------------------------------


def _pct(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 1)
    return round(statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1], 1)


def _figures(minutes: Sequence[float | None], queued: int) -> dict[str, Any]:
    reached = [m for m in minutes if m is not None]
    calls = len(minutes)
    return {
        "calls": calls,
        "reached": len(reached),
        "answer_to_arrival_median_min": _pct(reached, 0.5),
        "answer_to_arrival_p90_min": _pct(reached, 0.9),
        "within_30_min": round(sum(m <= 30 for m in reached) / calls, 3) if calls else None,
        "within_60_min": round(sum(m <= 60 for m in reached) / calls, 3) if calls else None,
        "queued": queued,
    }


def _compare(calls: Sequence[RecordedCall], replayed: dict[str, ReplayedCall]) -> dict[str, Any]:
    return {
        "recorded": _figures(
            [c.answer_to_arrival_min for c in calls], sum(c.queued for c in calls)
        ),
        "replayed": _figures(
            [replayed[c.incident_id].answer_to_arrival_min(c.reported_at) for c in calls],
            sum(replayed[c.incident_id].queued for c in calls),
        ),
    }


def _agreement(period: RecordedPeriod, replayed: dict[str, ReplayedCall]) -> dict[str, Any]:
    rule_calls = [
        c
        for c in period.calls
        if c.first_van_id is not None
        and c.first_mode in ("nearest", "queue")
        and not c.depends_on_a_decision
    ]
    before = [
        c
        for c in rule_calls
        if period.first_decision_at is None or c.reported_at < period.first_decision_at
    ]

    def share(calls: list[RecordedCall]) -> dict[str, Any]:
        same = sum(replayed[c.incident_id].van_id == c.first_van_id for c in calls)
        return {"calls": len(calls), "same_van": same}

    return {
        "rule_answered": share(rule_calls),
        "before_any_decline_or_override": share(before),
    }


def _stations(
    period: RecordedPeriod, network: Network, replayed: dict[str, ReplayedCall]
) -> list[dict[str, Any]]:
    before = {s.station_id: s for s in period.network.stations}
    after = {s.station_id: s for s in network.stations}
    rows: dict[str, dict[str, Any]] = {}
    for station_id in sorted(before.keys() | after.keys()):
        spec = after.get(station_id) or before[station_id]
        rows[station_id] = {
            "station_id": station_id,
            "name": spec.name,
            "lat": spec.lat,
            "lon": spec.lon,
            "province": spec.province,
            "change": (
                "closed"
                if station_id not in after
                else "added"
                if station_id not in before
                else "kept"
            ),
            "served_recorded": 0,
            "served_replayed": 0,
            "reached_30_recorded": 0,
            "reached_30_replayed": 0,
        }
    for call in period.calls:
        minutes = call.answer_to_arrival_min
        if minutes is not None and call.final_station_id in rows:
            row = rows[call.final_station_id]
            row["served_recorded"] += 1
            row["reached_30_recorded"] += minutes <= 30
        result = replayed[call.incident_id]
        minutes = result.answer_to_arrival_min(call.reported_at)
        if minutes is not None and result.station_id in rows:
            row = rows[result.station_id]
            row["served_replayed"] += 1
            row["reached_30_replayed"] += minutes <= 30
    for row in rows.values():
        row["reach_change"] = row["reached_30_replayed"] - row["reached_30_recorded"]
    return list(rows.values())


def summarise(
    period: RecordedPeriod, network: Network, replayed: dict[str, ReplayedCall]
) -> dict[str, Any]:
    """The document `whatif.json` holds: overall, per province, per station, and the calls."""
    provinces: dict[str, list[RecordedCall]] = {}
    for call in period.calls:
        provinces.setdefault(call.province or "unknown", []).append(call)
    stations = _stations(period, network, replayed)
    moved = sorted(stations, key=lambda s: (s["reach_change"], s["station_id"]))
    return {
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "network": {
            "stations_recorded": len(period.network.stations),
            "stations_replayed": len(network.stations),
            "vans_recorded": len(period.network.vans),
            "vans_replayed": len(network.vans),
            "closed": [s["station_id"] for s in stations if s["change"] == "closed"],
            "added": [s["station_id"] for s in stations if s["change"] == "added"],
        },
        "overall": _compare(period.calls, replayed),
        "assignments": _agreement(period, replayed),
        "provinces": {name: _compare(calls, replayed) for name, calls in sorted(provinces.items())},
        "stations_lost_most": [s for s in moved[:10] if s["reach_change"] < 0],
        "stations_gained_most": [s for s in reversed(moved[-10:]) if s["reach_change"] > 0],
        "stations": stations,
        "calls": [
            {
                "incident_id": c.incident_id,
                "reported_at": c.reported_at.isoformat(),
                "lat": c.lat,
                "lon": c.lon,
                "province": c.province,
                "recorded_van_id": c.final_van_id,
                "first_van_id": c.first_van_id,
                "depends_on_a_decision": c.depends_on_a_decision,
                "recorded_answer_to_arrival_min": _round(c.answer_to_arrival_min),
                "replayed_van_id": replayed[c.incident_id].van_id,
                "replayed_station_id": replayed[c.incident_id].station_id,
                "replayed_answer_to_arrival_min": _round(
                    replayed[c.incident_id].answer_to_arrival_min(c.reported_at)
                ),
                "replayed_queued": replayed[c.incident_id].queued,
            }
            for c in period.calls
        ],
    }


def _round(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


def what_if(
    store: RescueStore,
    start: datetime,
    end: datetime,
    network: Network | None,
    table: EtaTable,
    params: DispatchParams,
    max_dispatch_km: float,
) -> dict[str, Any]:
    """Replays the calls reported in [start, end) against `network` (None: as recorded)."""
    period = read_period(store, start, end)
    changed = network if network is not None else period.network
    replayed = replay(period, changed, table, params, max_dispatch_km)
    return summarise(period, changed, replayed)


def queueing_figures(period: RecordedPeriod, time_scale: float = 1.0) -> dict[str, Any]:
    """How the network coped with the recorded calls: waiting, time to dispatch and to arrival.

    `time_scale` turns recorded minutes into the minutes they stand for: a run
    of the simulator at speed S records its drives S times shorter than the
    simulated ones, since events carry the wall clock.
    """
    calls = period.calls
    to_dispatch = [
        (c.first_offered_at - c.reported_at).total_seconds() / 60 * time_scale
        for c in calls
        if c.first_offered_at is not None
    ]
    arrivals = [
        m * time_scale if (m := c.answer_to_arrival_min) is not None else None for c in calls
    ]
    figures = _figures(arrivals, sum(c.queued for c in calls))
    return {
        **figures,
        "never_offered": sum(c.first_offered_at is None for c in calls),
        "open_at_end": sum(c.ended_at is None for c in calls),
        "time_to_dispatch_median_min": _pct(to_dispatch, 0.5),
        "time_to_dispatch_p90_min": _pct(to_dispatch, 0.9),
    }
