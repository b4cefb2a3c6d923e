"""The read-model runner crashed at random points a hundred times: always equal to a rebuild.

A batch's documents and its log position are written in one transaction. Each
round adds some work to the log, lets a runner apply it and crashes that runner
at a random point of storing the batch: before anything is written, after the
documents but before the position (inside the transaction), or just after the
commit. The crashed runner is thrown away with everything it held in memory,
as a killed process would be; a fresh one resumes from the store, and what it
stored must equal a rebuild from the first event: no event lost, none applied
twice.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from rescue.bootstrap import Rescue
from rescue.domain.ids import track_uuid
from rescue.projections.changes import Doc
from rescue.projections.runner import ProjectionRunner, rebuild
from rescue.projections.storage import ViewStore
from tests.builders import OPERATOR, crew, open_app, report, reported, work_to_completion
from tests.integration.test_projections import CATEGORIES, busy_day, stored_docs

ROUNDS = 100
FAULTS = ("before_writes", "before_position", "after_commit")


class Crash(Exception):
    """The runner's process dying at this point."""


class _CrashingCursor:
    """Passes statements through until the chosen one, where the process 'dies'."""

    def __init__(self, cursor: Any, fault: str) -> None:
        self._cursor = cursor
        self._fault = fault

    def execute(self, statement: str, *args: Any) -> Any:
        if self._fault == "before_position" and "INSERT INTO projection_tracking" in statement:
            raise Crash(self._fault)
        return self._cursor.execute(statement, *args)

    def executemany(self, statement: str, *args: Any) -> Any:
        if self._fault == "before_writes":
            raise Crash(self._fault)
        return self._cursor.executemany(statement, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


class CrashingViewStore(ViewStore):
    """The real store, whose next batch save dies at `fault`."""

    fault: str | None = None

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with super().transaction() as cursor:
            yield cursor if self.fault is None else _CrashingCursor(cursor, self.fault)

    def save(
        self, expected: int, position: int, changes: Sequence[tuple[str, str, Doc | None]]
    ) -> None:
        super().save(expected, position, changes)
        if self.fault == "after_commit":
            raise Crash(self.fault)


def more_work(app: Rescue, rng: random.Random, n: int) -> None:
    """A call with a random fate, then GPS fixes from a few vans, as a busy hour would add."""
    incident_id = reported(app, report(34.7 + rng.random() / 5, 113.6, rng.choice(CATEGORIES), n=n))
    van_id = app.dispatch.dispatch(incident_id, OPERATOR.actor).body["van_id"]
    fate = rng.random()
    if van_id is None or fate < 0.2:
        app.steps.take(incident_id, "cancel", {"reason": "customer fixed it"}, OPERATOR)
    elif fate < 0.35:
        app.steps.take(incident_id, "decline", {"reason": "flat tyre on the van"}, crew(van_id))
    elif fate < 0.5:
        app.steps.take(incident_id, "accept", {"eta_min": 15.0}, crew(van_id))
        app.steps.take(incident_id, "cancel", {"reason": "duplicate call"}, OPERATOR)
    else:
        work_to_completion(app, incident_id, van_id, tow_station_id="S1" if fate > 0.9 else None)
    at = datetime.now(UTC) - timedelta(hours=2, seconds=-n * 60)
    tracks = []
    for v in rng.sample(range(1, 7), 3):
        track = app.store.repository.get(track_uuid(f"V{v}"))
        for k in range(rng.randint(1, 8)):
            track.report(
                34.7 + rng.random() / 10, 113.6 + rng.random() / 10, at + timedelta(seconds=k)
            )
        tracks.append(track)
    app.store.append(tracks)


def test_a_hundred_crashes_of_the_runner_never_lose_or_repeat_an_event(store_url: str) -> None:
    seed = int(os.environ.get("RESCUE_FAULT_SEED") or random.SystemRandom().randrange(2**31))
    print(f"projection fault seed {seed} (replay: RESCUE_FAULT_SEED={seed})")
    rng = random.Random(seed)
    crashed = dict.fromkeys(FAULTS, 0)
    with open_app(store_url) as app:
        busy_day(app, calls=10, seed=seed)
        for round_no in range(ROUNDS):
            # 1. The log grows; a runner starts from what is stored and dies storing it.
            more_work(app, rng, round_no)
            fault = rng.choice(FAULTS)
            store = CrashingViewStore(store_url)
            store.fault = fault
            runner = ProjectionRunner(app.store, store)
            try:
                while runner.step():
                    pass
            except Crash:
                crashed[fault] += 1
            finally:
                store.close()
            # 2. A fresh runner resumes from the store, to the head of the log.
            resumed = ViewStore(store_url)
            runner = ProjectionRunner(app.store, resumed)
            try:
                while runner.step():
                    pass
                assert resumed.position() == app.store.recorder.max_notification_id()
            finally:
                resumed.close()
            # 3. What it stored equals a rebuild from the first event.
            assert stored_docs(store_url) == rebuild(app.store, None).docs, (
                f"round {round_no}, fault {fault}, seed {seed}"
            )
    # Every kind of crash happened, every round crashed (each round had a batch to store).
    assert sum(crashed.values()) == ROUNDS
    assert all(crashed.values()), crashed
