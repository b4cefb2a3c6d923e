"""Stopping the simulator's tasks, however they take a cancellation.

One `cancel()` is not always enough: a task can lose it, when a library turns
the cancellation into an error of its own that a retry loop catches (a crew
socket closing as it is cancelled), or on Python 3.11 when `asyncio.wait_for`
returns the value that came at the same moment. Such a task runs on, and a
single `gather` after a single round of cancels waits for it for ever: the
demo, asked to stop, would never reach stopping its server. So the tasks are
cancelled again each round until every one has finished, and whatever still
runs after a bound is reported with where it is stuck instead of waited for.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable, Collection
from typing import Any

log = logging.getLogger("rescue.simulator")

ROUND_S = 1.0  # between rounds of cancels
GIVE_UP_S = 60.0  # then the tasks still running are left behind, with their stacks logged


async def cancel_until_done(
    running: Callable[[], Collection[asyncio.Task[Any]]],
    *,
    round_s: float = ROUND_S,
    give_up_s: float = GIVE_UP_S,
) -> list[asyncio.Task[Any]]:
    """Cancels `running()` (asked anew each round: a task may start others as it
    stops) until none is left; returns those still running after `give_up_s`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + give_up_s
    while True:
        pending = [task for task in running() if not task.done()]
        if not pending:
            return []
        if loop.time() >= deadline:
            for task in pending:
                stack = io.StringIO()
                task.print_stack(file=stack)
                log.warning("a task did not stop when cancelled:\n%s", stack.getvalue())
            return pending
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=round_s)
