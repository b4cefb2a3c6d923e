"""An event log of a given size for the benchmarks that need history (time travel, cold start,
projection rebuild): the national network, whole incident lives and, mostly, GPS fixes.

The mix follows a real log: positions are the bulk (every moving van reports
every few seconds) and incidents a few per cent. Incidents go through the
application's own commands (report, dispatch, accept ... complete), so their
events, van bookings and idempotency records are exactly what the server
writes; positions go through the same batched append as the position writer.
Rounds interleave the two so incidents are spread over the log, not bunched
at one end.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.progress import Progress

from rescue.bootstrap import Rescue, bootstrap
from rescue.domain.access import Principal
from rescue.domain.actors import Actor
from rescue.domain.ids import track_uuid
from rescue.domain.vocabulary import Role
from rescue.settings import Settings
from rescue.simulator.calls import call_places, plan_calls
from rescue.simulator.network import build_network
from rescue.simulator.scenarios import ordinary_day
from rescue.simulator.setup import load_with_progress
from rescue.simulator.work import diagnosis, needs_tow
from rescue.store.privacy import new_key

__all__ = ["Corpus", "build_corpus"]

# Share of the log's events that belong to incidents and the vans' bookings.
INCIDENT_SHARE = 0.03
# Events one completed incident adds (incident, van and reply records), measured.
EVENTS_PER_INCIDENT = 16
POSITIONS_PER_APPEND = 5000


@dataclass(frozen=True)
class Corpus:
    path: Path
    db: str
    key: str
    events: int  # notifications in the log
    incident_ids: tuple[str, ...]

    def settings(self, **overrides: Any) -> Settings:
        return Settings(db=self.db, cipher_key=self.key, **overrides)


def build_corpus(
    folder: Path, events: int, *, progress: Progress | None = None, seed: int = 5
) -> Corpus:
    """A SQLite store under `folder` with about `events` events (at least the network's)."""
    path = folder / f"corpus-{events}.db"
    db = f"sqlite:///{path}"
    key = new_key()
    rng = random.Random(seed)
    app = bootstrap(Settings(db=db, cipher_key=key))
    try:
        network = build_network()
        load_with_progress(app, network, progress=progress)
        base = app.store.recorder.max_notification_id() or 0
        incidents = max(1, round(events * INCIDENT_SHARE / EVENTS_PER_INCIDENT))
        places = call_places([(s.lat, s.lon) for s in network.stations], 30.0)
        scenario = ordinary_day(hours=None, calls_per_hour=40.0)
        calls = plan_calls(scenario.replace(duration_s=incidents / 40.0 * 3600 * 4), places, seed)
        calls = calls[:incidents]
        workshops = [s.station_id for s in network.stations if "repair" in s.capabilities]
        tracks = _Tracks(app, [v.van_id for v in network.vans], rng)
        task = (
            progress.add_task(f"writing a log of {events:,} events", total=events)
            if progress is not None
            else None
        )
        rounds = max(1, math.ceil(len(calls) / 50))
        ids: list[str] = []
        operator = Actor(role=Role.OPERATOR, name="bench-operator")
        for r in range(rounds):
            for call in calls[r * 50 : (r + 1) * 50]:
                incident_id = _incident_life(app, call.report, operator, workshops, rng)
                if incident_id is not None:
                    ids.append(incident_id)
            written = (app.store.recorder.max_notification_id() or 0) - base
            # Positions fill the log up to this round's share of the target.
            goal = round((events - base) * (r + 1) / rounds)
            tracks.append(max(0, goal - written))
            if progress is not None and task is not None:
                progress.update(task, completed=(app.store.recorder.max_notification_id() or 0))
        total = app.store.recorder.max_notification_id() or 0
    finally:
        app.close()
    return Corpus(path=path, db=db, key=key, events=total, incident_ids=tuple(ids))


def _incident_life(
    app: Rescue,
    report: dict[str, Any],
    operator: Actor,
    workshops: list[str],
    rng: random.Random,
) -> str | None:
    incident_id = str(app.dispatch.report_incident(report, operator).body["incident_id"])
    offered = app.dispatch.dispatch(incident_id, operator).body
    van_id = offered.get("van_id")
    if offered.get("status") != "offered" or not van_id:
        app.steps.take(incident_id, "cancel", {"reason": "no van free"}, _principal(operator))
        return incident_id
    crew = Principal(f"bench-crew-{van_id}", Role.CREW, van_id)
    category = report["fault"]["category"]
    outcome: dict[str, Any] = (
        {"outcome": "towed", "tow_station_id": rng.choice(workshops)}
        if needs_tow(category)
        else {"outcome": "repaired_on_site"}
    )
    for action, data in (
        ("accept", {"eta_min": round(rng.uniform(10, 60), 1)}),
        ("depart", {}),
        ("arrive", {}),
        ("diagnose", diagnosis(category, rng)),
        ("resolve", outcome),
        ("complete", {"customer_signed": True, "satisfaction": rng.randint(3, 5)}),
    ):
        app.steps.take(incident_id, action, data, crew)
    return incident_id


def _principal(actor: Actor) -> Principal:
    return Principal(actor.name, actor.role, actor.van_id)


class _Tracks:
    """Every van's track kept in memory, appended to in large batches."""

    def __init__(self, app: Rescue, van_ids: list[str], rng: random.Random) -> None:
        self.app = app
        self.rng = rng
        self.tracks: dict[str, Any] = {v: app.store.repository.get(track_uuid(v)) for v in van_ids}
        self.van_ids = van_ids
        self.clock = datetime.now(UTC) - timedelta(days=2)
        self.where = {v: (rng.uniform(22.0, 45.0), rng.uniform(100.0, 122.0)) for v in van_ids}

    def append(self, count: int) -> None:
        while count > 0:
            n = min(count, POSITIONS_PER_APPEND)
            touched: dict[str, Any] = {}
            for i in range(n):
                van_id = self.van_ids[i % len(self.van_ids)]
                lat, lon = self.where[van_id]
                lat, lon = lat + self.rng.gauss(0, 0.002), lon + self.rng.gauss(0, 0.002)
                self.where[van_id] = (lat, lon)
                self.clock += timedelta(milliseconds=50)
                track = self.tracks[van_id]
                track.report(lat=lat, lon=lon, recorded_at=self.clock, speed_kmh=45.0)
                touched[van_id] = track
            self.app.store.append(list(touched.values()))
            count -= n
