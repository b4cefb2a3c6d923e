"""The position writer answers every request once its reports are stored, whether the request
waits in a thread (`enqueue`, `submit`) or in an event loop (`stored`), and a waiter that has
gone (a closed socket cancels its task) stops no one else: its reports are stored all the same.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest

from rescue.bootstrap import Rescue
from rescue.domain.errors import NotFound
from rescue.domain.idempotency import Result
from rescue.domain.ids import track_uuid
from rescue.services.positions import Gathering, PositionReport, PositionWriter, _Job
from tests.builders import line_network, load, open_app

START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
REPORTS = [PositionReport(34.70 + n / 100, 113.60, START + timedelta(seconds=n)) for n in range(4)]


def _held(writer: PositionWriter, monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, ...]:
    """Holds the writer inside its next transaction: (entered, release)."""
    entered, release = threading.Event(), threading.Event()
    append = writer._append

    def held_append(batch: list[_Job], read_back: bool) -> list[Result | Exception]:
        entered.set()
        release.wait(30)
        return list(append(batch, read_back))

    monkeypatch.setattr(writer, "_append", held_append)
    return entered, release


def _at(second: int) -> list[PositionReport]:
    return [PositionReport(34.70, 113.60 + second / 1000, START + timedelta(seconds=second))]


def _fixes(app: Rescue, van_id: str) -> int:
    return len(list(app.store.events.get(track_uuid(van_id), gt=1)))


@contextmanager
def _writing(store_url: str) -> Iterator[tuple[Rescue, PositionWriter]]:
    """A store with vans V1 and V2, and a writer of its own, closed after the block."""
    with open_app(store_url) as app:
        load(app, *line_network(2))
        writer = PositionWriter(app.runner)
        try:
            yield app, writer
        finally:
            writer.close()


def test_a_thread_waiter_that_gave_up_stops_no_one_else(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _writing(store_url) as (app, writer):
        entered, release = _held(writer, monkeypatch)
        taken = writer.enqueue("V1", REPORTS[:1])
        assert entered.wait(10)
        queued = writer.enqueue("V2", REPORTS[:1])
        # What asyncio.wrap_future does to the thread's future when its task is cancelled.
        assert taken.cancel() and queued.cancel()
        release.set()
        assert writer.submit("V1", REPORTS[1:2], timeout=30) == Result({"accepted": 1})
        # Written in order: the two given up were stored before the last one was answered.
        assert (_fixes(app, "V1"), _fixes(app, "V2")) == (2, 1)


def test_event_loop_waiters_each_get_their_own_answer(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _writing(store_url) as (app, writer):

        async def requests() -> Result:
            entered, release = _held(writer, monkeypatch)
            first = asyncio.ensure_future(writer.stored("V1", REPORTS[:1]))
            assert await asyncio.to_thread(entered.wait, 10)
            # Three more queue up behind the held transaction and are written together.
            two = asyncio.ensure_future(writer.stored("V2", REPORTS[:2]))
            unknown = asyncio.ensure_future(writer.stored("V9", REPORTS[:1]))
            gone = asyncio.ensure_future(writer.stored("V2", REPORTS[2:3]))
            await asyncio.sleep(0)  # each has handed its reports over
            gone.cancel()
            release.set()
            assert await first == Result({"accepted": 1})
            assert await two == Result({"accepted": 2})
            with pytest.raises(NotFound):
                await unknown
            with pytest.raises(asyncio.CancelledError):
                await gone
            return await writer.stored("V1", REPORTS[1:2])

        assert asyncio.run(requests()) == Result({"accepted": 1})
        assert (_fixes(app, "V1"), _fixes(app, "V2")) == (2, 3)


def test_a_busy_writer_waits_for_as_many_requests_as_it_last_answered(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_app(store_url) as app:
        load(app, *line_network(2))
        # A long longest wait: only the crowd coming back ends it in this test.
        writer = PositionWriter(app.runner, Gathering(longest_s=30, step_s=0.001))
        try:
            sizes: list[int] = []
            entered, release = _held(writer, monkeypatch)
            held = writer._append

            def counted(batch: list[_Job], read_back: bool) -> list[Result | Exception]:
                sizes.append(len(batch))
                return held(batch, read_back)

            monkeypatch.setattr(writer, "_append", counted)
            first = writer.enqueue("V1", _at(1))
            assert entered.wait(10)
            crowd = [writer.enqueue(van, _at(2)) for van in ("V1", "V2", "V2")]
            release.set()
            assert [f.result(30) for f in (first, *crowd)] == [Result({"accepted": 1})] * 4
            assert sizes == [1, 3]
            # The three answered are expected back: the first of them waits for the others.
            back = writer.enqueue("V1", _at(3))
            with pytest.raises(TimeoutError):
                back.result(0.3)
            rest = [writer.enqueue(van, _at(3)) for van in ("V2", "V1")]
            assert [f.result(30) for f in (back, *rest)] == [Result({"accepted": 1})] * 3
            assert sizes == [1, 3, 3]
            assert (_fixes(app, "V1"), _fixes(app, "V2")) == (4, 3)
        finally:
            writer.close()
