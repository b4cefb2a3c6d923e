"""The vans' own maintenance: distance driven from the GPS tracks, service records, the due list.

The odometers are read from the log incrementally, at most every `refresh_s`,
when someone asks. The due list, a van's status and a service record catch up
first, so what they show and record is the distance as stored. A dispatch's
"maintenance due" flag does not: under a fleet's load the fixes since the last
catch-up are tens of thousands (about 45 us each, most of it the geodesic),
and the operator's call waited seconds for them. It reads the odometers as
they stand and has a catch-up run in the background instead; a flag lags the
track by at most the refresh interval and one catch-up, nothing against
service intervals of thousands of km.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from rescue.domain.actors import Actor
from rescue.domain.errors import NotFound
from rescue.domain.idempotency import IdempotencyKey, Result
from rescue.domain.tracks import VanTrack
from rescue.domain.upkeep import Odometer, OdometerRules, VanUpkeep, due_status, upkeep_uuid
from rescue.domain.validation import CHINA_TZ
from rescue.services.runner import CommandRunner, Decision
from rescue.services.store import RescueStore
from rescue.store.codec import POSITION_TOPICS, position_fixes

_TOPICS = [
    get_topic(VanTrack.Started),  # type: ignore[attr-defined]
    get_topic(VanTrack.PositionReported),
]
_PAGE = 2000
# A background catch-up sleeps after each slice of this many fixes (about 1 ms of work).
# Without the pauses it holds the interpreter up to the switch interval (5 ms) at a time,
# and a request thread of the process, which lets it go at every store call, waits that
# long to get it back each time: the operator's calls under the fleet's load came out
# slower (docs/benchmarks.md).
_SLICE = 25
_PAUSE_S = 0.001
log = logging.getLogger("rescue.services.upkeep")


class UpkeepService:
    """Keeps each van's odometer from the tracks, read incrementally from the log."""

    def __init__(
        self,
        runner: CommandRunner,
        store: RescueStore,
        default_interval_km: float,
        clock: Any,
        refresh_s: float = 30.0,
    ) -> None:
        self.runner = runner
        self.store = store
        self.default_interval_km = default_interval_km
        self.clock = clock
        self.refresh_s = refresh_s
        self.rules = OdometerRules()
        self._lock = threading.Lock()
        self._catching_up = threading.Lock()  # held by the one background catch-up running
        self._position = 0
        self._read_at = -1e18
        self._vans: dict[Any, str] = {}  # track aggregate id -> van id
        self._odometers: dict[str, Odometer] = {}

    # -- distance ---------------------------------------------------------------------------

    def catch_up(self, *, pause_s: float = 0.0) -> None:
        """Reads the fixes stored since the last call into the odometers.

        With `pause_s`, sleeps that long after every few fixes (see `_SLICE`).
        """
        with self._lock:
            recorder = self.store.recorder
            head = recorder.max_notification_id() or 0
            while self._position < head:
                page = recorder.select_notifications(
                    start=self._position,
                    limit=_PAGE,
                    stop=head,
                    topics=_TOPICS,
                    inclusive_of_start=False,
                )
                for start in range(0, len(page), _SLICE):
                    self._apply_page(page[start : start + _SLICE])
                    if pause_s:
                        time.sleep(pause_s)
                if len(page) < _PAGE:
                    break
                self._position = page[-1].id
            self._position = head
            self._read_at = time.monotonic()

    def _apply_page(self, page: Sequence[Notification]) -> None:
        """Each notification of the page in order: the fixes' fields are read straight from
        their stored JSON (rescue.store.codec), only a track's start is decoded as an event."""
        fixes = iter(
            position_fixes(self.store.mapper, [n.state for n in page if n.topic in POSITION_TOPICS])
        )
        for notification in page:
            if notification.topic in POSITION_TOPICS:
                _, lat, lon, recorded_at, *_ = next(fixes)
                van_id = self._vans.get(notification.originator_id)
                if van_id is not None:
                    odometer = self._odometers.setdefault(van_id, Odometer())
                    odometer.add(lat, lon, datetime.fromisoformat(recorded_at), self.rules)
            else:
                started: Any = self.store.mapper.to_domain_event(notification)
                self._vans[started.originator_id] = started.van_id

    def _stale(self) -> bool:
        return time.monotonic() - self._read_at >= self.refresh_s

    def _fresh(self) -> None:
        if self._stale():
            self.catch_up()

    def catch_up_in_background(self) -> None:
        """Starts a catch-up in a thread of its own when the odometers are stale and none runs."""
        if not self._stale() or not self._catching_up.acquire(blocking=False):
            return

        def run() -> None:
            try:
                self.catch_up(pause_s=_PAUSE_S)
            except Exception:  # the next stale read starts another
                log.exception("catching the odometers up with the log failed")
            finally:
                self._catching_up.release()

        threading.Thread(target=run, name="upkeep-catch-up", daemon=True).start()

    def km_driven(self, van_id: str) -> float:
        self._fresh()
        return self._km(van_id)

    def _km(self, van_id: str) -> float:
        odometer = self._odometers.get(van_id)
        return odometer.km if odometer is not None else 0.0

    # -- records ----------------------------------------------------------------------------

    def _record(self, van_id: str) -> VanUpkeep | None:
        try:
            record: VanUpkeep = self.runner.load(upkeep_uuid(van_id), f"upkeep of {van_id}")
        except NotFound:
            return None
        return record

    def status(self, van_id: str) -> dict[str, Any]:
        return self._status(van_id, self.km_driven(van_id))

    def _serviced(self, record: VanUpkeep | None) -> tuple[float, float]:
        """(odometer km at the last service, the interval); a van never serviced: (0, default)."""
        if record is None:
            return 0.0, self.default_interval_km
        return record.serviced_at_km, record.interval_km

    def _status(self, van_id: str, km_driven: float) -> dict[str, Any]:
        record = self._record(van_id)
        serviced_at, interval = self._serviced(record)
        return {
            "van_id": van_id,
            "serviced_on": record.serviced_on if record else None,
            **due_status(km_driven, serviced_at, interval),
        }

    def due_list(self, within_km: float) -> list[dict[str, Any]]:
        """Vans due within `within_km` or past due, the most overdue first."""
        self.catch_up()
        van_ids = sorted(set(self._vans.values()))
        rows = [self.status(v) for v in van_ids]
        return sorted(
            (r for r in rows if r["due_in_km"] <= within_km), key=lambda r: r["due_in_km"]
        )

    def past_due(self, van_ids: list[str]) -> set[str]:
        """The vans past their service by the odometers as they stand (see the module's doc)."""
        self.catch_up_in_background()
        # At most one store read for all their records: ranking asks at every call and dispatch.
        by_record = {upkeep_uuid(van_id): van_id for van_id in van_ids}
        records = self.runner.kept.read(list(by_record), self._serviced)
        serviced = {by_record[record_id]: kept for record_id, kept in records.items()}
        never = self._serviced(None)
        past: set[str] = set()
        for van_id in van_ids:
            at_km, interval = serviced.get(van_id, never)
            if due_status(self._km(van_id), at_km, interval)["past_due"]:
                past.add(van_id)
        return past

    def record_service(
        self,
        van_id: str,
        note: str,
        interval_km: float | None,
        actor: Actor,
        idempotency: IdempotencyKey | None = None,
    ) -> Result:
        """The van was serviced now: its interval starts again from the km driven so far."""
        self.catch_up()
        at_km = self.km_driven(van_id)
        today = self.clock().astimezone(CHINA_TZ).date().isoformat()

        def decide() -> Decision:
            self.runner.van(van_id)  # 404 for a van that does not exist
            record = self._record(van_id) or VanUpkeep(
                van_id=van_id, interval_km=self.default_interval_km, actor=actor.as_dict()
            )
            if interval_km is not None:
                record.set_interval(interval_km, actor.as_dict())
            record.record_service(at_km, today, note, actor.as_dict())
            due = due_status(at_km, at_km, record.interval_km)
            return [record], Result({"van_id": van_id, "serviced_on": today, **due})

        return self.runner.run(idempotency, decide)
