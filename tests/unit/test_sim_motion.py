"""Moving vans: great-circle paths, simulated time, and what crews record."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime

import pytest

from rescue.domain.vocabulary import FaultCategory
from rescue.services.step_requests import Diagnose
from rescue.simulator.clock import SimClock
from rescue.simulator.geo import (
    NearestPoint,
    destination,
    geodesic_km,
    initial_bearing,
    interpolate,
)
from rescue.simulator.work import diagnosis, needs_tow, scene_seconds

ZHENGZHOU = (34.7472, 113.6249)
WUHAN = (30.5833, 114.2667)


def test_a_drive_follows_the_great_circle_from_start_to_end() -> None:
    total = geodesic_km(*ZHENGZHOU, *WUHAN)
    assert interpolate(*ZHENGZHOU, *WUHAN, 0.0) == pytest.approx(ZHENGZHOU)
    assert interpolate(*ZHENGZHOU, *WUHAN, 1.0) == pytest.approx(WUHAN)
    for f in (0.25, 0.5, 0.75):
        lat, lon = interpolate(*ZHENGZHOU, *WUHAN, f)
        # On the path: the two legs add up to the whole, in proportion.
        first, rest = geodesic_km(*ZHENGZHOU, lat, lon), geodesic_km(lat, lon, *WUHAN)
        assert first + rest == pytest.approx(total, rel=1e-3)
        assert first / total == pytest.approx(f, abs=0.01)
    # Wuhan is south and a little east of Zhengzhou.
    assert 160 < initial_bearing(*ZHENGZHOU, *WUHAN) < 180


def test_destination_and_nearest_point_agree_with_the_geodesic() -> None:
    lat, lon = destination(*ZHENGZHOU, 20.0, 90.0)
    assert geodesic_km(*ZHENGZHOU, lat, lon) == pytest.approx(20.0, rel=0.01)
    index = NearestPoint([WUHAN, ZHENGZHOU])
    i, km = index.nearest(lat, lon)
    assert i == 1 and km == pytest.approx(20.0, rel=0.01)


def test_the_clock_runs_speed_times_faster_than_the_wall() -> None:
    wall = [100.0]
    start = datetime(2025, 1, 15, 7, 0, tzinfo=UTC)
    clock = SimClock(start, speed=60, monotonic=lambda: wall[0])
    wall[0] += 2.0  # two wall seconds
    assert clock.elapsed() == pytest.approx(120.0)
    assert clock.now() == datetime(2025, 1, 15, 7, 2, tzinfo=UTC)
    assert clock.wall_seconds(3600) == pytest.approx(60.0)
    with pytest.raises(ValueError):
        SimClock(start, speed=0)
    with pytest.raises(ValueError):
        SimClock(datetime(2025, 1, 15), speed=1)


def test_hurry_cuts_every_pending_simulated_wait_short() -> None:
    async def scenario() -> float:
        clock = SimClock(datetime.now(UTC), speed=1)
        sleeper = asyncio.ensure_future(clock.sleep(3600))  # an hour at real speed
        await asyncio.sleep(0.05)
        t0 = time.monotonic()
        clock.hurry()
        await asyncio.wait_for(sleeper, timeout=30)
        await asyncio.wait_for(clock.sleep(3600), timeout=30)  # later sleeps return at once
        return time.monotonic() - t0

    # A timeout above (30 s) would fail the test; an hour-long sleep cannot pass it.
    asyncio.run(scenario())


@pytest.mark.parametrize("category", [c.value for c in FaultCategory])
def test_every_fault_has_work_that_the_api_accepts(category: str) -> None:
    rng = random.Random(category)
    for _ in range(20):
        Diagnose.model_validate(diagnosis(category, rng, in_storm=True))
    assert scene_seconds(category, rng) > 0
    assert needs_tow(category) == (category in ("engine_failure", "transmission", "accident"))
