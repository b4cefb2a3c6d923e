"""Benchmark: FleetIndex.nearest against the brute-force geodesic ranking.

A synthetic national fleet (stations scattered over a rough outline of
mainland China, two vans each, mixed kit, duty and freshness) is indexed once,
then queried from random sites. The brute force is timed on a subset of the
same queries in the same run, and both must give identical answers.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import shapely

from rescue.domain.dispatch import FleetIndex, VanSnapshot, rank_by_geodesic
from rescue.domain.vocabulary import Capability

# A coarse outline of mainland China (lon, lat): sites and stations in the sea,
# Mongolia or Kazakhstan would make the density and hence the search radius
# unrealistic.
_CHINA_OUTLINE = shapely.Polygon(
    [
        (73.5, 39.5), (75.0, 37.0), (78.5, 35.0), (79.0, 32.5), (81.0, 30.0),
        (86.0, 28.0), (89.0, 28.0), (92.0, 27.8), (97.0, 28.0), (98.5, 24.5),
        (101.0, 21.5), (106.0, 22.5), (108.0, 21.5), (110.0, 20.2), (111.0, 21.5),
        (114.0, 22.3), (117.0, 23.5), (119.5, 25.5), (121.5, 28.0), (122.0, 30.8),
        (121.0, 32.5), (120.0, 34.5), (119.2, 35.0), (122.5, 37.0), (121.0, 38.8),
        (122.0, 40.0), (124.3, 40.0), (126.0, 41.5), (128.5, 42.0), (130.5, 42.5),
        (131.0, 44.8), (133.0, 45.0), (134.7, 48.3), (131.0, 47.7), (127.5, 49.8),
        (125.5, 52.5), (122.0, 53.4), (120.0, 52.5), (117.5, 49.5), (116.0, 48.0),
        (119.5, 47.0), (114.0, 45.3), (111.0, 43.5), (106.0, 42.0), (97.0, 42.8),
        (95.5, 44.3), (91.0, 45.5), (90.5, 47.5), (87.5, 49.0), (85.5, 47.0),
        (82.5, 47.0), (80.5, 45.0), (80.0, 42.5), (76.0, 40.5),
    ]
)  # fmt: skip
shapely.prepare(_CHINA_OUTLINE)

_NOW = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
_CAPS = [c.value for c in Capability]
_BASELINE_QUERIES = 50


def _land_point(rng: random.Random) -> tuple[float, float]:
    minx, miny, maxx, maxy = _CHINA_OUTLINE.bounds
    while True:
        lon, lat = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if shapely.contains_xy(_CHINA_OUTLINE, lon, lat):
            return lat, lon


def synthetic_fleet(stations: int, vans_per_station: int, rng: random.Random) -> list[VanSnapshot]:
    """Vans at stations over China: ~85% on duty, ~75% free, ~half with a fresh GPS fix."""
    fleet = []
    for s in range(stations):
        home = _land_point(rng)
        for v in range(vans_per_station):
            caps = frozenset(c for c in _CAPS if rng.random() < 0.5) or frozenset(
                [rng.choice(_CAPS)]
            )
            roll = rng.random()
            position: tuple[float, float] | None = None
            position_at: datetime | None = None
            if roll < 0.5:
                # Out on the road near home, reported within the last 10 minutes.
                position = (home[0] + rng.gauss(0, 0.1), home[1] + rng.gauss(0, 0.1))
                position_at = _NOW - timedelta(seconds=rng.uniform(0, 600))
            elif roll < 0.6:
                # A stale fix, to be ignored in favour of the home station.
                position = (home[0] + rng.gauss(0, 0.3), home[1] + rng.gauss(0, 0.3))
                position_at = _NOW - timedelta(seconds=rng.uniform(1_000, 20_000))
            fleet.append(
                VanSnapshot(
                    van_id=f"V{s:05d}-{v}",
                    station_id=f"S{s:05d}",
                    capabilities=caps,
                    on_duty=rng.random() < 0.85,
                    available=rng.random() < 0.75,
                    home_lat=home[0],
                    home_lon=home[1],
                    position_lat=None if position is None else position[0],
                    position_lon=None if position is None else position[1],
                    position_at=position_at,
                )
            )
    return fleet


def _percentile_ms(samples_ns: list[int], q: int) -> float:
    if len(samples_ns) == 1:
        return samples_ns[0] / 1e6
    # Inclusive method: p99 of 50 samples is interpolated inside the sample.
    cuts = statistics.quantiles(samples_ns, n=100, method="inclusive")
    return cuts[q - 1] / 1e6


def bench_dispatch(
    stations: int = 5000, vans: int = 10000, queries: int = 2000, seed: int = 1
) -> dict[str, Any]:
    """Time index build and queries, and the brute force on a subset; check they agree.

    Latencies are per query, in ms, from time.perf_counter_ns. The ratios are
    baseline / index, so 20 means the index is 20 times faster.
    """
    rng = random.Random(seed)
    per_station = max(1, round(vans / stations))
    fleet = synthetic_fleet(stations, per_station, rng)
    sites = [(*_land_point(rng), rng.choice(_CAPS)) for _ in range(queries)]

    t0 = time.perf_counter_ns()
    index = FleetIndex(fleet, _NOW)
    build_ns = time.perf_counter_ns() - t0

    # Warm caches and numpy's first-call paths so they do not land in the sample.
    for lat, lon, cap in sites[:20]:
        index.nearest(lat, lon, cap)

    index_ns: list[int] = []
    answers = []
    for lat, lon, cap in sites:
        t0 = time.perf_counter_ns()
        answer = index.nearest(lat, lon, cap)
        index_ns.append(time.perf_counter_ns() - t0)
        answers.append(answer)

    subset = range(min(_BASELINE_QUERIES, queries))
    baseline_ns: list[int] = []
    mismatches = 0
    for i in subset:
        lat, lon, cap = sites[i]
        t0 = time.perf_counter_ns()
        expected = rank_by_geodesic(fleet, lat, lon, cap, _NOW)
        baseline_ns.append(time.perf_counter_ns() - t0)
        mismatches += expected != answers[i]

    index_p50 = _percentile_ms(index_ns, 50)
    index_p99 = _percentile_ms(index_ns, 99)
    baseline_p50 = _percentile_ms(baseline_ns, 50)
    baseline_p99 = _percentile_ms(baseline_ns, 99)
    return {
        "stations": stations,
        "vans": len(fleet),
        "queries": queries,
        "k": index.params.k,
        "index_build_ms": round(build_ns / 1e6, 1),
        "index_p50_ms": round(index_p50, 4),
        "index_p99_ms": round(index_p99, 4),
        "index_max_ms": round(max(index_ns) / 1e6, 4),
        "baseline_queries": len(baseline_ns),
        "baseline_p50_ms": round(baseline_p50, 3),
        "baseline_p99_ms": round(baseline_p99, 3),
        "ratio_p50": round(baseline_p50 / index_p50, 1),
        "ratio_p99": round(baseline_p99 / index_p99, 1),
        "identical": mismatches == 0,
        "mismatches": mismatches,
    }


if __name__ == "__main__":
    print(json.dumps(bench_dispatch(), indent=2))
