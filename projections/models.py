"""The persisted read models: board, van map, station load and service KPIs.

Each model is a set of JSON documents built from the event log by pure code
(`ReadModels.apply`); `projections.runner` stores the documents that a batch
of events changed together with the log position the batch reached, in one
transaction, so each event counts exactly once even across crashes.

- `board`: open incidents with status, priority, assigned van and the times
  timers are computed from (reported, offered, accepted, arrived; ETA);
- `vans`: latest position and its time, status, home station, current
  incident (staleness is judged when read: it depends on the clock);
- `station_load`: vans free, offered, busy and off duty, and the queued
  incidents within the station's radius;
- `kpis`: per station and hour of report: answer-to-dispatch, dispatch-to-
  accept, dispatch-to-arrival, time on scene, and repaired-on-site counts;
- `incidents` (internal): every incident's board document, closed ones too:
  a restarting server's live board starts from these instead of replaying
  the whole log;
- `timings` (internal): what each incident's KPIs are computed from;
- `scores` (internal): what each incident's scorecard figures are computed
  from (`projections.scores`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rescue.projections.changes import Doc, board_changes, merge, van_status
from rescue.projections.scores import SCORE_EVENTS, apply_score
from rescue.store.codec import PositionFix

MODELS = (
    "board",
    "incidents",
    "vans",
    "stations",
    "station_load",
    "kpis",
    "timings",
    "scores",
)
CLOSED = frozenset({"completed", "closed", "cancelled"})


def _hour(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:00Z")


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    # Haversine is plenty for "is this call inside a station's area".
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 12742.0 * math.asin(math.sqrt(min(1.0, a)))


class ReadModels:
    """All documents of all models, and which changed since the last `take_changes`."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Doc]] = {name: {} for name in MODELS}
        self.position = 0
        self.van_ids: dict[Any, str] = {}
        self.followups: dict[str, str] = {}  # follow-up id (hex) -> incident id
        self._changed: set[tuple[str, str]] = set()

    # -- loading and saving -------------------------------------------------

    def load(self, model: str, key: str, doc: Doc) -> None:
        self.docs[model][key] = doc
        if model == "vans":
            # Mapping aggregate ids back to vans is part of the state.
            for uuid_hex in doc.get("_ids", []):
                self.van_ids[uuid_hex] = key
        elif model == "scores" and "_followup" in doc:
            self.followups[doc["_followup"]] = key

    def take_changes(self) -> list[tuple[str, str, Doc | None]]:
        """(model, key, document or None if removed) for everything changed since last time."""
        changes = [(m, k, self.docs[m].get(k)) for m, k in sorted(self._changed)]
        self._changed.clear()
        return changes

    def _touch(self, model: str, key: str) -> Doc:
        self._changed.add((model, key))
        return self.docs[model].setdefault(key, {})

    def _drop(self, model: str, key: str) -> None:
        if key in self.docs[model]:
            del self.docs[model][key]
            self._changed.add((model, key))

    # -- applying events ------------------------------------------------------

    def apply(self, position: int, event: Any) -> None:
        name = type(event).__qualname__
        if name in ("Van.Registered", "VanTrack.Started"):
            self.van_ids[event.originator_id.hex] = event.van_id
            van = self._touch("vans", event.van_id)
            van.setdefault("_ids", []).append(event.originator_id.hex)
        lookup = {uuid: van for uuid, van in self._id_view(event)}
        for item in board_changes(event, lookup):
            self._apply_change(item, event)
        if name in SCORE_EVENTS:
            apply_score(name, event, lambda key: self._touch("scores", key), self.followups)
        self.position = position

    def apply_positions(
        self, position: int, tracks: Sequence[str], fixes: Sequence[PositionFix]
    ) -> None:
        """A run of GPS fixes as stored, with their tracks' ids as hex, up to log `position`.

        The same change `apply` makes for each, written out for the run as a whole:
        GPS fixes are most of the log, and per-fix calls and attribute lookups cost
        more than the fix itself.
        """
        van_ids, vans, changed = self.van_ids, self.docs["vans"], self._changed
        for track_hex, (_, lat, lon, at, speed_kmh, heading, _) in zip(tracks, fixes, strict=True):
            van_id = van_ids.get(track_hex)
            if van_id is None:
                continue
            van = vans[van_id]
            held = van.get("position_at")
            if held is None or at > held:
                van["lat"], van["lon"], van["position_at"] = lat, lon, at
                van["speed_kmh"], van["heading"] = speed_kmh, heading
                changed.add(("vans", van_id))
        self.position = position

    def _id_view(self, event: Any) -> list[tuple[Any, str]]:
        van = self.van_ids.get(event.originator_id.hex)
        return [(event.originator_id, van)] if van is not None else []

    def _apply_change(self, item: Doc, event: Any) -> None:
        kind, key, fields = item["kind"], item["id"], item["changes"]
        if kind == "station":
            merge(self._touch("stations", key), fields)
            self._station_load(key)
        elif kind == "van":
            van = self._touch("vans", key)
            before = (van.get("station_id"), van.get("status"))
            merge(van, fields)
            van["status"] = van_status(van)
            after = (van.get("station_id"), van["status"])
            if after != before:
                self._count_van(before, -1)
                self._count_van(after, +1)
        else:
            self._apply_incident(key, fields, item["event"], event)

    def _apply_incident(self, key: str, fields: Doc, name: str, event: Any) -> None:
        doc = self.docs["board"].get(key)
        # A closed incident's late change (a close after completion) is not on the board.
        doc = {} if doc is None and name != "Reported" else self._touch("board", key)
        merge(doc, fields)
        merge(self._touch("incidents", key), fields)
        self._timings(key, name, event, doc)
        if doc.get("status") in CLOSED:
            self._drop("board", key)
        queued = doc.get("status") == "queued"
        if queued != bool(doc.get("_areas")):
            self._queued_areas(key, doc, queued)

    # -- KPIs -----------------------------------------------------------------

    def _timings(self, key: str, name: str, event: Any, doc: Doc) -> None:
        t = self._touch("timings", key)
        at = event.timestamp.timestamp()
        if name == "Reported":
            t.update(reported=at, hour=_hour(event.timestamp))
        elif name == "Offered":
            t.setdefault("offered", at)
            t["station"] = event.station_id
        elif name == "Accepted":
            t.setdefault("accepted", at)
        elif name == "Arrived":
            t.setdefault("arrived", at)
        elif name == "Resolved":
            t["outcome"] = event.outcome
        elif name == "Completed" and "completed" not in t:
            t["completed"] = at
            self._count(t)

    def _count(self, t: Doc) -> None:
        """Adds a completed incident's durations to its station's hour."""
        bucket = self._touch("kpis", f"{t.get('station')}|{t.get('hour')}")
        bucket.setdefault("station_id", t.get("station"))
        bucket.setdefault("hour", t.get("hour"))
        bucket["completed"] = bucket.get("completed", 0) + 1
        for label, start, end in (
            ("answer_to_dispatch_s", "reported", "offered"),
            ("dispatch_to_accept_s", "offered", "accepted"),
            ("dispatch_to_arrival_s", "offered", "arrived"),
            ("on_scene_s", "arrived", "completed"),
        ):
            if start in t and end in t:
                bucket[f"{label}_sum"] = round(
                    bucket.get(f"{label}_sum", 0.0) + t[end] - t[start], 3
                )
                bucket[f"{label}_n"] = bucket.get(f"{label}_n", 0) + 1
        if t.get("outcome") == "repaired_on_site":
            bucket["repaired_on_site"] = bucket.get("repaired_on_site", 0) + 1

    # -- station load -------------------------------------------------------------

    def _station_load(self, station_id: str) -> None:
        load = self._touch("station_load", station_id)
        for status in ("available", "offered", "busy", "off_duty"):
            load.setdefault(status, 0)
        load.setdefault("queued", [])

    def _count_van(self, where: tuple[Any, Any], step: int) -> None:
        station_id, status = where
        if station_id is None or status is None:
            return
        self._station_load(station_id)
        self.docs["station_load"][station_id][status] += step

    def _queued_areas(self, key: str, doc: Doc, queued: bool) -> None:
        """Lists a queued incident at every station whose area holds it; unlists it after."""
        for station_id in doc.get("_areas", []):
            load = self._touch("station_load", station_id)
            if key in load.get("queued", []):
                load["queued"].remove(key)
        doc["_areas"] = []
        if not queued:
            return
        # In station order, not the dict's: a resumed runner loads the stations in
        # whatever order the store returns them, and must write what a rebuild writes.
        for station_id, station in sorted(self.docs["stations"].items()):
            if _km(station["lat"], station["lon"], doc["lat"], doc["lon"]) <= station["radius_km"]:
                self._station_load(station_id)
                self.docs["station_load"][station_id]["queued"].append(key)
                doc["_areas"].append(station_id)
