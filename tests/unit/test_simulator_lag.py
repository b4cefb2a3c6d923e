"""The simulator says how far behind its clock it acts, and when a run stops being faithful."""

from __future__ import annotations

import asyncio
from collections import Counter, deque

from rescue.simulator.client import Api
from rescue.simulator.engine import FAITHFUL_LAG_S, SimReport, StatusLine


def report(lag_s: float | None, unfaithful_from: str | None) -> SimReport:
    return SimReport(
        scenario="snowstorm",
        seed=1,
        speed=300.0,
        sim_seconds=3600.0,
        wall_seconds=12.0,
        out_station_id=None,
        incidents={},
        counts={},
        requests={},
        lag_s=lag_s,
        unfaithful_from=unfaithful_from,
    )


def test_a_run_that_kept_up_says_it_was_faithful() -> None:
    assert "faithful" in report(12.0, None).summary()
    assert "NOT faithful" not in report(12.0, None).summary()


def test_a_run_that_fell_behind_says_from_when_it_was_not_faithful() -> None:
    summary = report(FAITHFUL_LAG_S * 4, "09:40").summary()
    assert "NOT faithful" in summary and "from 09:40" in summary


def test_the_status_line_flags_a_lag_past_the_limit() -> None:
    line = StatusLine("09:40", 10, 2, 7, 1, 3, 100, 0, lag_s=FAITHFUL_LAG_S + 1)
    assert str(line).endswith("(not faithful)")
    assert "lag" not in str(StatusLine("09:40", 10, 2, 7, 1, 3, 100, 0))


def test_a_crew_gets_a_connection_of_its_own_counted_with_the_rest() -> None:
    asyncio.run(_own_connection())


async def _own_connection() -> None:
    desk = Api("http://127.0.0.1:9", concurrency=16)
    crew_latencies: deque[float] = deque()
    tablet = desk.own_connection(crew_latencies)
    other = desk.own_connection(crew_latencies)
    try:
        assert tablet is not desk and tablet.base_url == desk.base_url
        # 1. One connection, not a share of the call-taker's sixteen nor another crew's.
        assert tablet.concurrency == 1 and desk.concurrency == 16
        assert tablet._gate is not desk._gate and tablet._gate is not other._gate
        for _ in range(16):  # the desk busy with a surge of calls ...
            await desk._gate.acquire()
        assert not tablet._gate.locked()  # ... holds no crew's step back
        # 2. Its requests are counted with the desk's; its latencies apart.
        assert tablet.requests is desk.requests
        assert tablet.latencies is crew_latencies and desk.latencies is not crew_latencies
        tablet.requests["POST 200"] += 1
        assert desk.requests == Counter({"POST 200": 1})
    finally:
        await other.aclose()
        await tablet.aclose()
        await desk.aclose()
