"""A burst waits longer to go out the more consoles watch, so each console gets fewer,
fuller frames; tablets (keyed clients) do not count, and the wait has a floor and a cap."""

from __future__ import annotations

import asyncio
from typing import Any

from rescue.projections.hub import (
    FAN_OUT_DELAY_S,
    MAX_FAN_OUT_DELAY_S,
    BoardHub,
    Chunk,
    Client,
    crew_filter,
    fan_out_delay,
)
from rescue.projections.live import LiveView


def test_the_wait_grows_with_the_consoles_between_a_floor_and_a_cap() -> None:
    assert fan_out_delay(0) == FAN_OUT_DELAY_S
    assert fan_out_delay(50) == FAN_OUT_DELAY_S
    waits = [fan_out_delay(n) for n in range(0, 2001, 25)]
    assert waits == sorted(waits)
    assert FAN_OUT_DELAY_S < fan_out_delay(250) < MAX_FAN_OUT_DELAY_S
    assert fan_out_delay(2000) == MAX_FAN_OUT_DELAY_S


def scheduled_wait(consoles: int, tablets: int) -> tuple[float, list[Chunk]]:
    """The wait the hub schedules for one change, and what a console then received."""

    async def scenario() -> tuple[float, list[Chunk]]:
        loop = asyncio.get_running_loop()
        hub = BoardHub(LiveView(), loop)
        watchers = [Client(wanted=None) for _ in range(consoles)]
        for n in range(tablets):
            wanted, keys = crew_filter(f"V{n}")
            hub.clients.add(Client(wanted=wanted, keys=keys))
        for client in watchers:
            hub.clients.add(client)
        waits: list[float] = []
        call_later = loop.call_later

        def noting_wait(delay: float, callback: Any, *args: Any) -> asyncio.TimerHandle:
            waits.append(delay)
            return call_later(delay, callback, *args)

        loop.call_later = noting_wait  # type: ignore[method-assign]
        try:
            change = {"kind": "van", "id": "V1", "event": "Changed", "changes": {"lat": 1.0}}
            await loop.run_in_executor(None, hub._on_changes, 7, [change])
            while not waits:
                await asyncio.sleep(0.001)
            await asyncio.sleep(waits[0] + 0.05)
        finally:
            loop.call_later = call_later  # type: ignore[method-assign]
        got = []
        while (chunk := watchers[0].take(100)) is not None:
            got.append(chunk)
        return waits[0], got

    return asyncio.run(scenario())


def test_the_hub_waits_longer_for_many_consoles_and_still_delivers() -> None:
    few, got_few = scheduled_wait(consoles=3, tablets=0)
    many, got_many = scheduled_wait(consoles=400, tablets=0)
    assert few == FAN_OUT_DELAY_S
    assert many == fan_out_delay(400) > few
    for got in (got_few, got_many):
        assert [chunk.last for chunk in got] == [7]


def test_tablets_do_not_lengthen_the_wait() -> None:
    wait, got = scheduled_wait(consoles=3, tablets=2000)
    assert wait == FAN_OUT_DELAY_S
    assert [chunk.last for chunk in got] == [7]
