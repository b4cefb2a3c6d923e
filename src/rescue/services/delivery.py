"""Delivering the log to the outside world: one follower thread per target, from a stored cursor.

A target (the SMS outbox, one webhook) picks the events it wants and
delivers them one at a time, in log order. Its worker reads the log after
the target's cursor, a page at a time (bounded memory, whatever the backlog),
and moves the cursor past what it delivered; a crash before the cursor
moved delivers those events again (at least once; receivers deduplicate by
the event's id or key). A failed delivery is retried with exponential
backoff and jitter, holding the target's later events back (order), and never
anything else: each target has its own thread, and writers never wait for it.

With several server processes on one store, each target is delivered by the
holder of its lease (a row of `delivery_cursors`, renewed while delivering);
another process takes over when the lease runs out (a crashed holder).
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import Application

from rescue.store.deliveries import DeliveryStore

log = logging.getLogger("rescue.delivery")
PAGE = 200  # log rows held in memory per target at most


def event_type(topic: str) -> str:
    """`Incident.Completed` from the library's topic (`module:Incident.Completed`).

    Only the class's qualified name: a moved module (an old log's topic) names the same type.
    """
    return topic.rpartition(":")[2]


@dataclass(frozen=True, slots=True)
class LogEntry:
    position: int
    topic: str
    originator_id: uuid.UUID
    originator_version: int
    state: bytes

    @property
    def event_type(self) -> str:
        return event_type(self.topic)


class DeliveryFailed(Exception):
    """A delivery did not go through; `permanent` ones are given up (and recorded), not retried."""

    def __init__(self, detail: str, *, status_code: int | None = None, permanent: bool = False):
        super().__init__(detail)
        self.detail = detail
        self.status_code = status_code
        self.permanent = permanent


class Target(Protocol):
    name: str

    def wants(self, entry: LogEntry) -> bool: ...

    def deliver(self, entry: LogEntry, attempt: int) -> None:
        """Delivers one event (raising DeliveryFailed) and records the attempt its own way."""

    def flush(self) -> None:
        """Stores what was recorded in memory; called before the cursor moves."""

    def health(self, failing: bool, detail: str | None) -> None:
        """The target started or stopped failing."""

    def close(self) -> None:
        """Lets go of connections; the worker has stopped."""


@dataclass(frozen=True, slots=True)
class Backoff:
    base_s: float = 0.5
    max_s: float = 60.0
    failing_after: int = 5  # consecutive failed attempts before the target is marked failing

    def delay(self, attempt: int) -> float:
        """Exponential, capped, with half of it random so retrying processes spread out."""
        ceiling = min(self.max_s, self.base_s * 2.0 ** max(0, attempt - 1))
        ceiling = float(ceiling)
        return ceiling / 2 + random.uniform(0, ceiling / 2)


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class TargetWorker:
    def __init__(
        self,
        target: Target,
        app: Application[Any],
        store: DeliveryStore,
        holder: str,
        backoff: Backoff,
        lease_s: float,
    ) -> None:
        self.target = target
        self._app = app
        self._store = store
        self._holder = holder
        self._backoff = backoff
        self._lease_s = lease_s
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._failing = False
        self._thread = threading.Thread(
            target=self._run, name=f"deliver-{target.name}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self, wait: bool = True) -> None:
        self._stop.set()
        self.wake.set()
        if wait:
            self._thread.join(timeout=30)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        name = self.target.name
        while not self._stop.is_set():
            try:
                if not self._store.acquire(name, self._holder, self._lease_s):
                    # Another process delivers this target; look again before its lease runs out.
                    self._stop.wait(self._lease_s / 3)
                    continue
                if not self._round():
                    self.wake.wait(0.5)
                    self.wake.clear()
            except Exception:
                log.exception("delivering to %s failed; trying again", name)
                self._stop.wait(1.0)
        try:
            self.target.flush()
            self._store.release(name, self._holder)
        except Exception:
            log.warning("could not release the lease of %s", name)
        finally:
            self.target.close()

    def _round(self) -> bool:
        """Delivers the next page after the cursor; False when there was nothing to read."""
        name = self.target.name
        position = self._store.position(name)
        if position is None:
            self._stop.wait(1.0)  # removed meanwhile: the manager stops this worker
            return True
        self.wake.clear()
        page: Sequence[Any] = self._app.recorder.select_notifications(
            start=position, limit=PAGE, inclusive_of_start=False
        )
        if not page:
            return False
        done = position
        for row in page:
            entry = LogEntry(
                row.id, row.topic, UUID(str(row.originator_id)), row.originator_version, row.state
            )
            if self.target.wants(entry) and not self._deliver(entry, done):
                return True  # stopping, or the lease went to another process
            done = entry.position
        self._advance(done)
        return True

    def _advance(self, position: int) -> bool:
        self.target.flush()
        return self._store.advance(self.target.name, self._holder, position, self._lease_s)

    def _deliver(self, entry: LogEntry, done: int) -> bool:
        """Delivers one entry, retrying until it goes through or is given up; False to stop."""
        attempt = 0
        while not self._stop.is_set():
            attempt += 1
            try:
                self.target.deliver(entry, attempt)
            except DeliveryFailed as failure:
                if failure.permanent:
                    return True
                if attempt >= self._backoff.failing_after and not self._failing:
                    self._failing = True
                    self.target.health(True, failure.detail)
                # Keep what went through, and the lease, while waiting to retry.
                if not self._advance(done) or not self._wait(self._backoff.delay(attempt)):
                    return False
                continue
            if self._failing:
                self._failing = False
                self.target.health(False, None)
            return True
        return False

    def _wait(self, seconds: float) -> bool:
        """Waits, renewing the lease; False if stopping or the lease was lost."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self._stop.wait(min(left, self._lease_s / 3)):
                return False
            if not self._store.acquire(self.target.name, self._holder, self._lease_s):
                return False
        return True


class DeliveryWorkers:
    """A server process's delivery threads: one per target, the set refreshed as targets change."""

    def __init__(
        self,
        app: Application[Any],
        store: DeliveryStore,
        targets: Callable[[], list[Target]],
        backoff: Backoff,
        lease_s: float = 15.0,
        refresh_s: float = 1.0,
    ) -> None:
        self._app = app
        self._store = store
        self._targets = targets
        self._backoff = backoff
        self._lease_s = lease_s
        self._refresh_s = refresh_s
        self.holder = holder_name()
        self._workers: dict[str, TargetWorker] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="deliveries", daemon=True)

    def start(self) -> None:
        self.refresh()
        self._thread.start()

    def wake(self, *_: Any) -> None:
        # Called for every change the log brings (a fleet's fixes): setting an event
        # takes its lock, looking at it does not.
        for worker in list(self._workers.values()):
            if not worker.wake.is_set():
                worker.wake.set()

    def refresh(self) -> None:
        """Starts workers for new targets and stops those of removed ones."""
        wanted = {t.name: t for t in self._targets()}
        with self._lock:
            for name in list(self._workers):
                if name not in wanted:
                    self._workers.pop(name).stop(wait=False)
            for name, target in wanted.items():
                if name not in self._workers:
                    worker = TargetWorker(
                        target, self._app, self._store, self.holder, self._backoff, self._lease_s
                    )
                    self._workers[name] = worker
                    worker.start()

    def _run(self) -> None:
        while not self._stop.wait(self._refresh_s):
            try:
                self.refresh()
            except Exception:
                log.exception("could not refresh the delivery targets")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        with self._lock:
            workers = list(self._workers.values())
            self._workers.clear()
        for worker in workers:
            worker.stop(wait=False)
        for worker in workers:
            worker.stop()
