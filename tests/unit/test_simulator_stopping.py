"""The simulator's tasks stop when it is stopped, even those that lose a cancellation."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import pytest

from rescue.simulator.stopping import cancel_until_done

BOUND_S = 10.0  # a test fails rather than hang


async def _loses_one_cancel(stopped: list[str]) -> None:
    """A retry loop around a library that turned the first cancellation into its own error."""
    # Taken for a dropped connection: the loop goes on.
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.sleep(3600)
    try:
        await asyncio.sleep(3600)
    finally:
        stopped.append("second")


def test_a_task_that_loses_the_first_cancellation_is_cancelled_again() -> None:
    async def scenario() -> None:
        stopped: list[str] = []
        task = asyncio.get_running_loop().create_task(_loses_one_cancel(stopped))
        await asyncio.sleep(0)
        left = await asyncio.wait_for(cancel_until_done(lambda: {task}, round_s=0.05), BOUND_S)
        assert left == []
        assert task.cancelled() and stopped == ["second"]

    asyncio.run(scenario())


def test_a_task_started_while_the_others_stop_is_stopped_too() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        tasks: set[asyncio.Task[Any]] = set()

        async def starts_another_as_it_stops() -> None:
            try:
                await asyncio.sleep(3600)
            finally:
                tasks.add(loop.create_task(asyncio.sleep(3600)))  # an offer delivered late

        tasks.add(loop.create_task(starts_another_as_it_stops()))
        await asyncio.sleep(0)
        left = await asyncio.wait_for(cancel_until_done(lambda: tasks, round_s=0.05), BOUND_S)
        assert left == [] and len(tasks) == 2 and all(t.cancelled() for t in tasks)

    asyncio.run(scenario())


def test_a_task_that_never_stops_is_left_behind_and_its_place_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    released = False

    async def never_stops() -> None:
        while not released:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(3600)

    async def scenario() -> None:
        nonlocal released
        task = asyncio.get_running_loop().create_task(never_stops())
        await asyncio.sleep(0)
        left = await cancel_until_done(lambda: {task}, round_s=0.05, give_up_s=0.3)
        assert left == [task] and not task.done()
        released = True  # let it end, so that the loop can close
        task.cancel()
        await asyncio.wait_for(task, BOUND_S)

    with caplog.at_level(logging.WARNING, logger="rescue.simulator"):
        asyncio.run(scenario())
    assert "did not stop when cancelled" in caplog.text and "never_stops" in caplog.text
