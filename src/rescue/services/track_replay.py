"""Reading a van's recorded GPS fixes over a period, for the trail drawn on the maps.

A van's fixes are the events of its `VanTrack`, in the order they were stored,
numbered by version; nothing indexes them by time. Each stored fix carries
the time it was stored (`timestamp`), which only grows with the version, and
the time the device took it (`recorded_at`), which is at most a little later
and may be much earlier (a tablet that was offline sends its backlog on
reconnecting). So the reader finds, by bisecting the versions, the first fix
stored at or after the period's start (less `CLOCK_SKEW`), reads on from there,
keeps the fixes recorded inside the period, and stops at the first fix stored
more than `LATE_FIXES` after the period's end. The cost is the log of the
track's length plus the fixes stored during the period and that margin.

Trade-off: a fix recorded in the period but sent more than `LATE_FIXES` after
its end (a tablet offline for longer) is not on the trail.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.sqlite import SQLiteApplicationRecorder

from rescue.domain.ids import track_uuid
from rescue.places.trails import Fix, trail_geojson
from rescue.services.runner import CommandRunner
from rescue.store.codec import POSITION_TOPICS, position_fix, position_fixes

# How long after the period a tablet's backlog of fixes from it is still looked for.
LATE_FIXES = timedelta(hours=2)
# How far a device's clock may run ahead of the server's.
CLOCK_SKEW = timedelta(minutes=10)
# The longest period one request may ask for: a week of fixes every few seconds is
# already a few hundred thousand events to read.
MAX_PERIOD = timedelta(days=7)
PAGE = 2000


class TrackReplay:
    def __init__(self, runner: CommandRunner) -> None:
        self.runner = runner
        self.store = runner.store

    def trail(
        self, van_id: str, start: datetime, end: datetime, *, max_points: int, min_stop_s: float
    ) -> dict[str, Any]:
        """The van's trail from `start` to `end` as GeoJSON (see `rescue.places.trails`).

        Raises NotFound for an unknown van; a van that never reported has an empty trail.
        """
        self.runner.van(van_id)
        fixes = self.fixes(van_id, start, end)
        return trail_geojson(
            fixes,
            max_points=max_points,
            min_stop_s=min_stop_s,
            properties={
                "van_id": van_id,
                "from": start.isoformat(),
                "to": end.isoformat(),
                "max_points": max_points,
                "stop_min_s": min_stop_s,
            },
        )

    def fixes(self, van_id: str, start: datetime, end: datetime) -> list[Fix]:
        """Every fix of the van recorded from `start` to `end` (both included), as stored."""
        track = track_uuid(van_id)
        recorder, mapper = self.store.recorder, self.store.mapper
        last = recorder.select_events(track, desc=True, limit=1)
        if not last:
            return []
        version = self._first_stored_at_or_after(
            track, start - CLOCK_SKEW, last[0].originator_version
        )
        stop_after = end + LATE_FIXES
        found: list[Fix] = []
        while True:
            page = self._page(track, version - 1)
            if not page:
                return found
            states = [state for _, topic, state in page if topic in POSITION_TOPICS]
            for stored, recorded, lat, lon, speed, heading in (
                (f[0], f[3], f[1], f[2], f[4], f[5]) for f in position_fixes(mapper, states)
            ):
                if datetime.fromisoformat(stored) > stop_after:
                    return found
                at = datetime.fromisoformat(recorded)
                if start <= at <= end:
                    found.append(Fix(at, lat, lon, speed, heading))
            version = page[-1][0] + 1

    def _page(self, track: UUID, after: int) -> Sequence[tuple[int, str, bytes]]:
        """(version, topic, state) of the track's next `PAGE` events after version `after`.

        On SQLite the rows are read as stored: the library's recorder builds a
        UUID and a StoredEvent per row, which costs three times what reading
        and decoding the fix does, and a week's trail is hundreds of thousands.
        """
        recorder = self.store.recorder
        if isinstance(recorder, SQLiteApplicationRecorder):
            with recorder.datastore.transaction(commit=False) as cursor:
                cursor.sqlite_cursor.row_factory = None
                cursor.execute(
                    "SELECT originator_version, topic, state "
                    f"FROM {recorder.events_table_name} WHERE originator_id = ? "
                    "AND originator_version > ? ORDER BY originator_version LIMIT ?",
                    (track.hex, after, PAGE),
                )
                rows: Sequence[tuple[int, str, bytes]] = cursor.fetchall()
                return rows
        return [
            (e.originator_version, e.topic, e.state)
            for e in recorder.select_events(track, gt=after, limit=PAGE)
        ]

    def _first_stored_at_or_after(self, track: UUID, moment: datetime, last: int) -> int:
        """The lowest version stored at or after `moment` (`last + 1` if none is)."""
        low, high = 1, last + 1
        while low < high:
            middle = (low + high) // 2
            stored = self._stored_at(track, middle)
            if stored is not None and stored >= moment:
                high = middle
            else:
                low = middle + 1
        return low

    def _stored_at(self, track: UUID, version: int) -> datetime | None:
        """When the track's event of that version was stored; None for one that is no fix."""
        (event,) = self.store.recorder.select_events(track, gt=version - 1, lte=version)
        if event.topic not in POSITION_TOPICS:
            return None
        return datetime.fromisoformat(position_fix(self.store.mapper, event.state)[0])
