"""Keeping the persisted read models current, and rebuilding them from scratch.

The runner pulls the notifications after its stored position in pages, applies
them to the documents in memory and stores the changed documents with the new
position in one transaction. It is woken by the process's log follower (which
rides the store's live subscription) and otherwise looks every half second.

Exactly once: the position moves only with the documents it produced; a crash
before the commit loses the whole batch, which is then read again from the
log. With several server processes on one store only the elected one runs
(rescue.store.leader), and every save is guarded by the position it started from.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent

from rescue.projections.models import MODELS, ReadModels
from rescue.projections.storage import PositionMoved, ViewStore
from rescue.store.chain import ChainedPostgresRecorder
from rescue.store.codec import POSITION_TOPICS, position_fixes
from rescue.store.leader import Leadership
from rescue.store.recorders import SubscribableSQLiteRecorder

log = logging.getLogger("rescue.projections")
PAGE = 5000
LOCK_KEY = 7_201_944_313  # the advisory lock of the read-model runner


def load_models(store: ViewStore) -> ReadModels:
    models = ReadModels()
    for model, key, doc in store.load():
        if model in MODELS:
            models.load(model, key, doc)
    models.position = store.position()
    return models


def predates_scores(models: ReadModels) -> bool:
    """Whether stored models were written before the `scores` model existed.

    Every reported call has a `timings` and a `scores` document from its first
    event on, so timings without scores mean an older server stored them: the
    runner rebuilds them once, or the scorecards would miss every earlier call.
    """
    return bool(models.position and models.docs["timings"] and not models.docs["scores"])


def read_page(app: Application[Any], after: int, limit: int) -> Sequence[Sequence[Any]]:
    """(notification id, originator id as hex, version, topic, state) of the next page.

    The store's recorders read them as plain tuples (`rows_after`): GPS rows,
    most of the log, need only the hex id to find their van.
    """
    recorder = app.recorder
    if isinstance(recorder, SubscribableSQLiteRecorder | ChainedPostgresRecorder):
        return recorder.rows_after(after, limit)
    return [
        (n.id, UUID(str(n.originator_id)).hex, n.originator_version, n.topic, n.state)
        for n in recorder.select_notifications(start=after, limit=limit, inclusive_of_start=False)
    ]


def apply_page(app: Application[Any], models: ReadModels, limit: int = PAGE) -> int:
    """Applies the next page of the log to the documents; returns how many events."""
    page = read_page(app, models.position, limit)
    # GPS fixes skip the generic decoder: their fields are plain JSON and the read
    # model keeps the time as the ISO text it was stored as. Runs of them go to
    # the models at once, in log order with the other events.
    mapper = app.mapper
    tracks: list[str] = []
    fixes: list[bytes] = []
    last_fix = 0
    for notification_id, originator_hex, version, topic, state in page:
        if topic in POSITION_TOPICS:
            tracks.append(originator_hex)
            fixes.append(state)
            last_fix = notification_id
            continue
        if fixes:
            models.apply_positions(last_fix, tracks, position_fixes(mapper, fixes))
            tracks, fixes = [], []
        event = mapper.to_domain_event(StoredEvent(UUID(originator_hex), version, topic, state))
        models.apply(notification_id, event)
    if fixes:
        models.apply_positions(last_fix, tracks, position_fixes(mapper, fixes))
    return len(page)


def rebuild(
    app: Application[Any],
    store: ViewStore | None,
    progress: Callable[[int, int], None] | None = None,
) -> ReadModels:
    """Builds every read model from the start of the log and swaps it in at once.

    Without a store, only builds them (to compare with what is stored).
    """
    models = ReadModels()
    head = app.recorder.max_notification_id() or 0
    while models.position < head:
        if apply_page(app, models, 5000) == 0:
            break
        if progress is not None:
            progress(models.position, head)
    models.take_changes()
    if store is None:
        return models
    store.replace_all(
        models.position,
        [(m, k, d) for m, docs in models.docs.items() for k, d in docs.items()],
    )
    return models


class ProjectionRunner:
    def __init__(self, app: Application[Any], store: ViewStore, interval_s: float = 1.0) -> None:
        self.interval_s = interval_s
        self._app = app
        self._store = store
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="read-models", daemon=True)
        self.models: ReadModels | None = None
        self.lock = threading.Lock()
        self._leadership = Leadership(store.url, "read-models", key=LOCK_KEY)

    def start(self) -> None:
        self._thread.start()

    def wake(self, *_: Any) -> None:
        # Called for every change the log brings (a fleet's fixes): setting an event
        # takes its lock, looking at it does not.
        if not self._wake.is_set():
            self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)
        self._leadership.release()
        self._store.close()

    def step(self) -> int:
        """Applies and stores one page; returns how many events it held."""
        with self.lock:
            if self.models is None:
                self.models = load_models(self._store)
                if predates_scores(self.models):
                    self.models = rebuild(self._app, self._store)
            models = self.models
            start = models.position
            count = apply_page(self._app, models)
            if count:
                try:
                    self._store.save(start, models.position, models.take_changes())
                except PositionMoved:
                    self.models = None  # another runner got there first: reload
                    return 0
                except Exception:
                    self.models = None  # the batch was not stored: start again from the store
                    raise
            return count

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._leader():
                self._stop.wait(2.0)
                continue
            try:
                while self.step() and not self._stop.is_set():
                    pass
            except Exception:
                log.exception("read models could not be updated; retrying")
                self._stop.wait(1.0)
            self._wake.wait(0.5)
            self._wake.clear()
            # At most one round per interval: under a stream of GPS fixes each
            # round is one larger transaction instead of many small ones that
            # would take the write lock from the position writer.
            self._stop.wait(self.interval_s)

    def _leader(self) -> bool:
        return self._leadership.held()
