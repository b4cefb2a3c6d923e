"""Group commit for GPS positions: many requests, one transaction.

Each request hands its reports to the writer thread and waits; the writer
takes everything that queued up while the previous transaction was being
written, appends it in one transaction, then wakes every waiter. So a request
is answered only after its positions are stored (acknowledged means stored),
while the store sees a few large commits per second instead of one fsync per
report. Under light load a batch is a single request and the wait is one
commit; under heavy load batches grow and throughput follows the store's
batched-append rate.

Failure mode: if the transaction fails, every request in that batch gets the
error (none of their positions were stored) and may retry. A request refused
on its own (an unknown van, an idempotency key reused for other reports) gets
its domain error and the rest of the batch is stored.

Other processes write the same tracks. The process's log follower already
reads and decodes every fix they store (for the board); it tells the writer
too (`LogFollower.listen`), and before each transaction the writer moves its
cached tracks by what it heard, with no read of its own. A track the follower
has not brought up to date yet (it is milliseconds behind the store) makes
the insert collide with the other process's row: the transaction is then
retried on tracks caught up from the store in one read, as every batch is
when the process does not follow the log. A track that missed what the
follower heard (too much was heard while the writer was idle) is caught up
from the store in that read before it is written.

Under concurrent load (the last transaction held more than one request) the
writer lets a batch gather after its first request (`Gathering`): until as
many requests wait as the last transaction answered, 2 ms at most. A client
sends its next report once its last is answered (a tracker app, a tablet
working through its outbox), so the requests just answered are the ones on
their way; the event loop is still reading them, and taking the batch before
they are in splits one crowd over two transactions. A lone request (a
tablet, a test) is written at once.

A request awaited in an event loop (`stored`) is woken with the others of
its loop by one call per transaction; a waiter that has gone (a closed
socket, a cancelled task) is skipped, and its reports are stored all the
same.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, OperationalError

from rescue.domain.errors import NotFound, RescueError, Unavailable
from rescue.domain.idempotency import IdempotencyKey, Result
from rescue.domain.ids import track_uuid
from rescue.domain.tracks import VanTrack
from rescue.services.runner import CommandRunner, stored_reply
from rescue.services.store import take_stored_fix
from rescue.store.codec import POSITION_TOPIC, PositionFix
from rescue.store.recorders import EventRow

# Bounds one transaction, so one huge burst cannot hold the write lock for long.
MAX_BATCH_REPORTS = 5000
# Events heard from the log follower and not yet looked at by the writer. Past this
# many (a process that stores no fixes while the fleet's go by) the oldest are let go:
# a track that missed one is caught up from the store when it is next written.
MAX_HEARD = 10_000


@dataclass(frozen=True, slots=True)
class Gathering:
    """How long the writer lets a batch gather under concurrent load, after its first request."""

    longest_s: float  # never longer than this
    step_s: float  # how often the queue is looked at meanwhile

    def wait(
        self,
        jobs: queue.SimpleQueue[Any],
        expected: int,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """Returns once `expected` requests are queued, or after the longest wait."""
        deadline = monotonic() + self.longest_s
        while jobs.qsize() < expected and monotonic() < deadline:
            sleep(self.step_s)


# Measured with 64 connections of one fix each on 2 cores, two server processes, in
# alternating 8 s pairs against what it replaced (SQLite: stop after 0.25 ms without a
# newcomer; PostgreSQL: a fixed 2 ms). SQLite: 9,124 fixes a second on average against
# 8,415, each of three pairs faster. PostgreSQL: 5,802 against 5,290 over five pairs, each
# faster, by 5 to 16%, the machine idle 5-7% of the time instead of 14-16%: the writer no
# longer sleeps past the crowd's arrival, nor takes a batch before it is in.
GATHERING = Gathering(longest_s=0.002, step_s=0.0002)


@dataclass(frozen=True, slots=True)
class PositionReport:
    lat: float
    lon: float
    recorded_at: datetime
    speed_kmh: float | None = None
    heading: float | None = None
    accuracy_m: float | None = None
    # What a tracker app sent with the fix (VanTrack.DEVICE_FIELDS); None from a tablet.
    device: dict[str, Any] | None = None


Outcome = Result | BaseException


@dataclass(slots=True)
class _Job:
    van_id: str
    reports: list[PositionReport]
    idempotency: IdempotencyKey | None
    # A thread's future (enqueue) or an event loop's (stored).
    done: Future[Result] | asyncio.Future[Result]


class PositionWriter:
    """One writer thread per process; `submit` blocks until the reports are stored."""

    def __init__(self, runner: CommandRunner, gathering: Gathering = GATHERING) -> None:
        self._runner = runner
        self._gathering = gathering
        self._store = runner.store
        # The event loop hands over every fix here. A SimpleQueue's put is one C call;
        # Queue.put takes a lock and notifies a Condition in Python, and measured 7% fewer
        # fixes a second at one fix per request (four alternating pairs, each slower).
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._tracks: dict[str, VanTrack] = {}
        # van id: its track's id as stored (UUID.hex formats it anew on every call)
        self._hex_ids: dict[str, str] = {}
        # The tracks this writer has loaded or is loading, by id: those it listens for.
        self._van_ids: dict[UUID, str] = {}
        self._heard: deque[tuple[UUID, int, PositionFix | None]] = deque(maxlen=MAX_HEARD)
        # Cached tracks that missed an event heard, or heard one that is not a fix.
        self._behind: set[str] = set()
        self._follower = runner.follower
        self._hearing = self._follower.following
        if self._hearing:
            self._follower.listen(self._hear)
        self._last_batch = 0  # requests the last transaction answered
        self._thread = threading.Thread(target=self._loop, name="position-writer", daemon=True)
        self._thread.start()

    def enqueue(
        self,
        van_id: str,
        reports: list[PositionReport],
        idempotency: IdempotencyKey | None = None,
    ) -> Future[Result]:
        """Hands reports to the writer; the future holds the result once they are stored.

        Never blocks, so an event loop can await the future instead of parking a
        thread per request. A retried idempotency key is answered by the writer
        from the stored result, appending nothing. A refused request's future
        holds its domain error (NotFound, Invalid).
        """
        done: Future[Result] = Future()
        self._jobs.put(_Job(van_id, reports, idempotency, done))
        return done

    async def stored(
        self,
        van_id: str,
        reports: list[PositionReport],
        idempotency: IdempotencyKey | None = None,
    ) -> Result:
        """Hands reports to the writer and waits in the event loop until they are stored.

        What `enqueue` does for an event loop, without a thread's future in between:
        the writer wakes every waiter of the loop at once. Raises the request's
        domain error (NotFound, Invalid) or the batch's (Unavailable).
        """
        done: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._jobs.put(_Job(van_id, reports, idempotency, done))
        return await done

    def submit(
        self,
        van_id: str,
        reports: list[PositionReport],
        idempotency: IdempotencyKey | None = None,
        timeout: float = 60.0,
    ) -> Result:
        """Blocks until the reports are stored; returns the result."""
        return self.enqueue(van_id, reports, idempotency).result(timeout=timeout)

    def close(self) -> None:
        if self._hearing:
            self._follower.unlisten(self._hear)
        self._jobs.put(None)
        self._thread.join(timeout=10)

    def _hear(self, originator_id: UUID, version: int, fix: PositionFix | None) -> None:
        """On the follower's thread: an event stored, kept if on one of the writer's tracks."""
        if originator_id in self._van_ids:
            self._heard.append((originator_id, version, fix))

    def _loop(self) -> None:
        while True:
            first = self._jobs.get()
            if first is None:
                return
            if self._last_batch > 1:
                # Let the others on their way join this batch; the first is taken already.
                self._gathering.wait(self._jobs, self._last_batch - 1)
            batch = [first]
            size = len(first.reports)
            while size < MAX_BATCH_REPORTS:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    self._write(batch)
                    return
                batch.append(job)
                size += len(job.reports)
            self._last_batch = len(batch)
            self._write(batch)

    def _write(self, batch: list[_Job]) -> None:
        for attempt in range(3):
            try:
                # What the follower heard is enough unless the batch has just collided.
                replies = self._append(batch, read_back=attempt > 0 or not self._hearing)
            except IntegrityError:
                # Another process appended to one of these tracks and the follower had
                # not told of it yet: their tracks were dropped and are read again.
                if attempt == 2:
                    self._fail(batch, Unavailable("could not store positions; retry"))
                    return
                continue
            except OperationalError as error:
                self._tracks.clear()
                self._fail(batch, Unavailable(f"the store is unavailable: {error}"))
                return
            except Exception as error:  # the waiters must always be answered
                self._tracks.clear()
                self._fail(batch, error)
                return
            _settle(batch, replies)
            return

    def _append(self, batch: list[_Job], read_back: bool) -> list[Result | RescueError]:
        rows: list[EventRow] = []
        moved: dict[str, tuple[VanTrack, int]] = {}  # van id: (track, version before)
        replies: list[Result | RescueError] = []
        extra: list[Aggregate] = []
        first_reply: dict[Any, Result] = {}
        # Every event of one write is stamped with the moment the writer took the batch.
        timestamp = VanTrack.PositionReported.create_timestamp()
        self._apply_heard()
        self._catch_up(batch, everyone=read_back)
        for job in batch:
            key = job.idempotency
            if key is not None:
                # A retry answered from the store or from its twin earlier in
                # this batch appends nothing.
                try:
                    earlier = first_reply.get(key.uuid) or self._runner.stored_result(key)
                except RescueError as error:
                    replies.append(error)
                    continue
                if earlier is not None:
                    replies.append(earlier)
                    continue
            try:
                track = self._tracks.get(job.van_id) or self._track(job.van_id)
            except NotFound as error:
                replies.append(error)
                continue
            if job.van_id not in moved:
                moved[job.van_id] = (track, track.version)
            self._record(job.van_id, track, job.reports, rows, timestamp)
            reply = Result({"accepted": len(job.reports)})
            if key is not None:
                first_reply[key.uuid] = reply
                extra.append(stored_reply(key, reply))
            replies.append(reply)
        try:
            self._store.append(extra, rows=rows, advanced=list(moved.values()))
        except Exception:
            # The rows were not stored; the cached tracks are ahead of the store.
            for van_id in moved:
                self._tracks.pop(van_id, None)
            raise
        return replies

    def _record(
        self,
        van_id: str,
        track: VanTrack,
        reports: list[PositionReport],
        rows: list[EventRow],
        timestamp: datetime,
    ) -> None:
        """Adds the stored rows of the reports' PositionReported events; moves the track.

        The hot path of the whole store (a fleet reports every second), so the
        events are encoded straight from the reports, as the library would store
        them, and the track is moved as applying them would move it, without
        building an event object per report (that and its generic encoding cost
        more than the insert itself). tests/integration/test_position_rows.py checks the
        rows and the track against the library's own path.
        """
        hex_id = self._hex_ids[van_id]
        originator_id = track.id
        encode = self._store.mapper.position_state
        version = track.version
        for report in reports:
            version += 1
            lat, lon, recorded_at = report.lat, report.lon, report.recorded_at
            speed_kmh, heading, accuracy_m = report.speed_kmh, report.heading, report.accuracy_m
            state = encode(
                originator_id,
                version,
                timestamp,
                lat,
                lon,
                recorded_at,
                speed_kmh,
                heading,
                accuracy_m,
                report.device,
            )
            rows.append((hex_id, version, POSITION_TOPIC, state))
            track.take_fix(lat, lon, recorded_at, speed_kmh, heading, accuracy_m)
        track.version = version
        track.modified_on = timestamp

    def _apply_heard(self) -> None:
        """Moves the cached tracks by the events the follower heard since the last batch.

        Each event is applied once, in log order: one the track already holds
        (this writer's own, or read with it) is passed over. A track that is
        not simply one fix behind (an event other than a fix, or one it missed
        when too many were heard) is left for the store to catch up.
        """
        heard, tracks, van_ids, behind = self._heard, self._tracks, self._van_ids, self._behind
        while heard:
            track_id, version, fix = heard.popleft()
            van_id = van_ids.get(track_id)
            if van_id is None or van_id in behind:  # None: a van found not to exist
                continue
            track = tracks.get(van_id)
            if track is None or version <= track.version:
                continue
            if fix is None or version != track.version + 1:
                behind.add(van_id)
                continue
            take_stored_fix(track, version, fix)

    def _catch_up(self, batch: list[_Job], everyone: bool) -> None:
        """Moves the batch's cached tracks past what other processes stored on them.

        Every server process has its writer and a van's reports reach either, so
        a cached track is often a version or two behind the store; appending
        from it would collide with the other process's rows. One read for the
        whole batch (`everyone`) or for its tracks that are behind what the
        follower heard finds and applies the missed events.
        """
        behind = self._behind
        wanted = {job.van_id for job in batch if everyone or job.van_id in behind}
        if not wanted:
            return
        cached = [self._tracks[van_id] for van_id in wanted if van_id in self._tracks]
        self._store.catch_up(cached)
        behind.difference_update(wanted)

    def _track(self, van_id: str) -> VanTrack:
        track = self._tracks.get(van_id)
        if track is None:
            track_id = track_uuid(van_id)
            # Listened for before the read: whatever is stored after it is heard.
            self._van_ids[track_id] = van_id
            try:
                track = self._store.repository.get(track_id)
            except AggregateNotFoundError:
                del self._van_ids[track_id]
                raise NotFound(f"no van {van_id}") from None
            self._tracks[van_id] = track
            self._hex_ids[van_id] = track.id.hex
            self._behind.discard(van_id)
        return track

    @staticmethod
    def _fail(batch: list[_Job], error: BaseException) -> None:
        _settle(batch, [error] * len(batch))


def _settle(batch: list[_Job], outcomes: Sequence[Outcome]) -> None:
    """Answers each job's waiter; one wake-up per event loop for all of its waiters."""
    waiting: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Result], Outcome]]] = {}
    for job, outcome in zip(batch, outcomes, strict=True):
        done = job.done
        if isinstance(done, asyncio.Future):
            waiting.setdefault(done.get_loop(), []).append((done, outcome))
        else:
            # A waiter may have cancelled its future meanwhile (asyncio.wrap_future does when
            # its task is cancelled); the writer must go on for everyone else.
            with contextlib.suppress(InvalidStateError):
                _answer(done, outcome)
    for loop, waiters in waiting.items():
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits there
            loop.call_soon_threadsafe(_answer_waiters, waiters)


def _answer(done: Future[Result] | asyncio.Future[Result], outcome: Outcome) -> None:
    if done.done():
        return
    if isinstance(outcome, BaseException):
        done.set_exception(outcome)
    else:
        done.set_result(outcome)


def _answer_waiters(waiters: list[tuple[asyncio.Future[Result], Outcome]]) -> None:
    for done, outcome in waiters:  # in the waiters' event loop: none can change meanwhile
        _answer(done, outcome)
