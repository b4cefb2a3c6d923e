"""The process's live board: stations, vans and incidents as documents, kept by the log follower.

Dispatch ranks vans from here (loading 10,000 van aggregates per call would be
far too slow); the choice is then checked against the van aggregate when the
offer is saved, so a board a moment out of date can cost a retry but never a
double assignment. The WebSocket hub streams the same changes to consoles.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson

from rescue.domain.dispatch import DispatchParams, FleetIndex, VanSnapshot
from rescue.projections.changes import Doc, board_changes, merge, position_change, van_status
from rescue.store.codec import PositionFix

# A built index goes stale as GPS fixes age past the freshness limit even when
# nothing is written, so it is rebuilt at least this often.
INDEX_MAX_AGE_S = 30.0
OPEN_STATUSES = frozenset(
    {"reported", "queued", "offered", "accepted", "en_route", "on_scene", "towing"}
)

Listener = Callable[[int, list[Doc]], None]


class LiveView:
    def __init__(self) -> None:
        self.stations: dict[str, Doc] = {}
        self.vans: dict[str, Doc] = {}
        self.incidents: dict[str, Doc] = {}
        self.position = 0
        self.van_ids: dict[Any, str] = {}  # Van and VanTrack aggregate ids -> van id
        self._fix_at: dict[str, datetime] = {}
        self._offer_due: dict[str, datetime] = {}
        self._accepted: dict[str, tuple[datetime, float, str]] = {}
        self._listeners: list[Listener] = []
        self._index: FleetIndex | None = None
        self._index_built_at: datetime | None = None
        # Each van as the dispatch rule sees it, kept until the van or any station changes:
        # while the fleet moves the index is rebuilt for nearly every call, and making a
        # snapshot of every van anew cost about 4 ms of it for 1,000 vans.
        self._van_snapshots: dict[str, VanSnapshot | None] = {}
        self._last_stamp = ("", "")  # a fix's stored timestamp, and as the board writes it
        self.lock = threading.RLock()

    # -- applying events ----------------------------------------------------

    def subscribe(self, listener: Listener) -> None:
        with self.lock:
            self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        with self.lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def apply(self, position: int, event: Any) -> None:
        name = type(event).__qualname__
        with self.lock:
            if name == "Van.Registered" or name == "VanTrack.Started":
                self.van_ids[event.originator_id] = event.van_id
            changes = board_changes(event, self.van_ids)
            for item in changes:
                self._merge(item, event)
            self.position = position
            listeners = list(self._listeners)
        for listener in listeners:
            listener(position, changes)

    def apply_fix(self, position: int, track_id: UUID, fix: PositionFix) -> None:
        """A GPS fix as stored (see `PositionFix`): the same as `apply` with its event.

        GPS fixes are most of the log and every server process follows it, so
        they skip the library's event decoding. The times are read as the
        library's decoder reads them (`fromisoformat`) and written back as
        `board_changes` writes them, so the change is the event's byte for byte.
        """
        timestamp, lat, lon, recorded_text, speed_kmh, heading, _ = fix
        recorded_at = datetime.fromisoformat(recorded_text)
        with self.lock:
            van_id = self.van_ids.get(track_id)
            changes = []
            if van_id is not None:
                # One write stamps all its fixes alike: the last stamp's text is kept.
                stamp, at = self._last_stamp
                if timestamp != stamp:
                    at = datetime.fromisoformat(timestamp).isoformat()
                    self._last_stamp = (timestamp, at)
                item = position_change(
                    van_id, at, lat, lon, recorded_at.isoformat(), speed_kmh, heading
                )
                changes.append(item)
                self._merge_fleet(self.vans, van_id, item["changes"], recorded_at)
            self.position = position
            listeners = list(self._listeners)
        for listener in listeners:
            listener(position, changes)

    def _merge(self, item: Doc, event: Any) -> None:
        kind, doc_id, fields = item["kind"], item["id"], item["changes"]
        if kind != "incident":
            docs = self.vans if kind == "van" else self.stations
            # Only a GPS fix moves a van, and it always has the time recorded.
            self._merge_fleet(docs, doc_id, fields, getattr(event, "recorded_at", None))
            return
        doc = self.incidents.setdefault(doc_id, {})
        merge(doc, fields)
        # Timers the background duties need, kept as datetimes.
        if item["event"] == "ArrivalOverdue":
            self._accepted.pop(doc_id, None)
        if "offer_expires_at" in fields:
            if fields["offer_expires_at"] is None:
                self._offer_due.pop(doc_id, None)
            else:
                self._offer_due[doc_id] = event.expires_at
        if fields.get("status") == "accepted":
            self._accepted[doc_id] = (event.timestamp, float(event.eta_min), doc["van_id"])
        elif "status" in fields and fields["status"] != "en_route":
            # Late is late until the van is on scene, whether or not it set off.
            self._accepted.pop(doc_id, None)

    def _merge_fleet(
        self, docs: dict[str, Doc], doc_id: str, fields: Doc, recorded_at: datetime | None
    ) -> None:
        """Merges a van's or a station's change; the dispatch index is rebuilt when it matters."""
        doc = docs.setdefault(doc_id, {})
        merge(doc, fields)
        if docs is self.vans:
            self._van_snapshots.pop(doc_id, None)
        else:
            self._van_snapshots.clear()  # a station is its vans' home (rare: kept simple)
        moved = fields.get("position_at") is not None
        if moved and doc["position_at"] == fields["position_at"] and recorded_at is not None:
            self._fix_at[doc_id] = recorded_at
            self._index = None
        elif not moved:
            self._index = None

    def restore(
        self,
        position: int,
        stations: dict[str, Doc],
        vans: dict[str, Doc],
        incidents: dict[str, Doc],
        van_ids: dict[str, str],
    ) -> None:
        """Starts from stored documents (the read models at `position`), not from scratch.

        The documents are the same merges of the same changes this view makes,
        so following the log from `position` on gives the state a full replay
        would; the timers are recomputed from the documents' times.
        """

        def public(doc: Doc) -> Doc:
            return {k: v for k, v in doc.items() if not k.startswith("_") and k != "status"}

        with self.lock:
            self.stations = {k: public(d) for k, d in stations.items()}
            self.vans = {k: public(d) for k, d in vans.items()}
            self.incidents = {
                k: {kk: vv for kk, vv in d.items() if not kk.startswith("_")}
                for k, d in incidents.items()
            }
            self.van_ids = {UUID(hex_id): van for hex_id, van in van_ids.items()}
            self._fix_at = {
                k: datetime.fromisoformat(v["position_at"])
                for k, v in self.vans.items()
                if v.get("position_at")
            }
            self._offer_due = {
                k: datetime.fromisoformat(d["offer_expires_at"])
                for k, d in self.incidents.items()
                if d.get("offer_expires_at") and d.get("status") == "offered"
            }
            self._accepted = {
                k: (datetime.fromisoformat(d["accepted_at"]), float(d["eta_min"]), d["van_id"])
                for k, d in self.incidents.items()
                if d.get("status") in ("accepted", "en_route")
                and d.get("accepted_at")
                and not d.get("overdue_flagged")
            }
            self.position = position
            self._index = None
            self._van_snapshots.clear()

    def snapshot(self) -> Doc:
        """Every document as it stands, and the log position it stands at (a copy)."""
        with self.lock:
            return copy.deepcopy(self._board())

    def snapshot_frame(self) -> tuple[int, str]:
        """The snapshot as a console's first frame, and the log position it stands at.

        Encoded while the board is locked, so nothing is copied first: copying
        a 2,000-van board cost about ten times its encoding.
        """
        with self.lock:
            board = self._board()
            return self.position, orjson.dumps({"type": "snapshot", **board}).decode()

    def _board(self) -> Doc:
        # Shares the documents themselves: the caller holds the lock while it reads them.
        return {
            "log_position": self.position,
            "stations": list(self.stations.values()),
            "vans": [{**v, "status": van_status(v)} for v in self.vans.values()],
            "incidents": [i for i in self.incidents.values() if i.get("status") in OPEN_STATUSES],
        }

    # -- queries ------------------------------------------------------------

    def fleet_index(self, now: datetime, params: DispatchParams) -> FleetIndex:
        with self.lock:
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
        kept = self._van_snapshots
        for van_id, van in self.vans.items():
            if van_id in kept:
                snapshot = kept[van_id]
            else:
                snapshot = kept[van_id] = self._snapshot(van)
            if snapshot is not None:
                yield snapshot

    def _snapshot(self, van: Doc) -> VanSnapshot | None:
        station = self.stations.get(van["station_id"])
        if station is None:
            return None
        return VanSnapshot(
            van_id=van["van_id"],
            station_id=van["station_id"],
            capabilities=frozenset(van["capabilities"]),
            on_duty=van["on_duty"],
            available=van["incident_id"] is None,
            home_lat=station["lat"],
            home_lon=station["lon"],
            position_lat=van["lat"],
            position_lon=van["lon"],
            position_at=self._fix_at.get(van["van_id"]),
        )

    def van_snapshot(self, van_id: str) -> VanSnapshot | None:
        """What the dispatch rule knows of one van (home station, latest fix)."""
        with self.lock:
            van = self.vans.get(van_id)
            return self._snapshot(van) if van is not None else None

    def queued(self) -> list[Doc]:
        """Queued incidents, most urgent first, then oldest first."""
        with self.lock:
            waiting = [dict(i) for i in self.incidents.values() if i["status"] == "queued"]
        return sorted(waiting, key=lambda i: (i["priority"], i["reported_at"], i["incident_id"]))

    def offers_due(self, now: datetime) -> list[str]:
        with self.lock:
            return [i for i, due in self._offer_due.items() if due <= now]

    def arrivals_overdue(self, now: datetime, margin_min: float) -> list[tuple[str, str, float]]:
        """(incident, van, minutes late) for accepted jobs not on scene by ETA plus a margin."""
        late = []
        with self.lock:
            for incident_id, (accepted_at, eta_min, van_id) in self._accepted.items():
                minutes = (now - accepted_at).total_seconds() / 60 - eta_min
                if minutes > margin_min:
                    late.append((incident_id, van_id, minutes))
        return late

    def incidents_with(self, status: str | None, limit: int) -> list[Doc]:
        with self.lock:
            chosen = [
                dict(i) for i in self.incidents.values() if status is None or i["status"] == status
            ]
        chosen.sort(key=lambda i: i["reported_at"], reverse=True)
        return chosen[:limit]

    def free_vans_exist(self) -> bool:
        with self.lock:
            return any(v["on_duty"] and v["incident_id"] is None for v in self.vans.values())
