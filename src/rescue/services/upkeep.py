"""The vans' own maintenance: distance driven from the GPS tracks, service records, the due list."""

from __future__ import annotations

import threading
import time
from typing import Any

from eventsourcing.utils import get_topic

from rescue.domain.actors import Actor
from rescue.domain.errors import NotFound
from rescue.domain.idempotency import IdempotencyKey, Result
from rescue.domain.tracks import VanTrack
from rescue.domain.upkeep import Odometer, OdometerRules, VanUpkeep, due_status, upkeep_uuid
from rescue.domain.validation import CHINA_TZ
from rescue.services.runner import CommandRunner, Decision
from rescue.services.store import RescueStore

_TOPICS = [
    get_topic(VanTrack.Started),  # type: ignore[attr-defined]
    get_topic(VanTrack.PositionReported),
]
_PAGE = 2000


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
        self._position = 0
        self._read_at = -1e18
        self._vans: dict[Any, str] = {}  # track aggregate id -> van id
        self._odometers: dict[str, Odometer] = {}

    # -- distance ---------------------------------------------------------------------------

    def catch_up(self) -> None:
        """Reads the fixes stored since the last call into the odometers."""
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
                for notification in page:
                    self._apply(self.store.mapper.to_domain_event(notification))
                if len(page) < _PAGE:
                    break
                self._position = page[-1].id
            self._position = head
            self._read_at = time.monotonic()

    def _apply(self, e: Any) -> None:
        if isinstance(e, VanTrack.PositionReported):
            van_id = self._vans.get(e.originator_id)
            if van_id is not None:
                odometer = self._odometers.setdefault(van_id, Odometer())
                odometer.add(e.lat, e.lon, e.recorded_at, self.rules)
        else:
            self._vans[e.originator_id] = e.van_id

    def _fresh(self) -> None:
        if time.monotonic() - self._read_at >= self.refresh_s:
            self.catch_up()

    def km_driven(self, van_id: str) -> float:
        self._fresh()
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
        record = self._record(van_id)
        serviced_at = record.serviced_at_km if record else 0.0
        interval = record.interval_km if record else self.default_interval_km
        return {
            "van_id": van_id,
            "serviced_on": record.serviced_on if record else None,
            **due_status(self.km_driven(van_id), serviced_at, interval),
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
        return {v for v in van_ids if self.status(v)["past_due"]}

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
