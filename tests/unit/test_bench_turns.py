"""The HTTP benchmark's servers take turns in short windows, and each side's windows add up."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from rescue.bench.database_cpu import BackendClock, used_between
from rescue.bench.http_paths import Measured, Scenario, Side, measured_in_turns, window_seconds
from rescue.bench.wrk import Load, combined, merged_percentile

# The percents at which the wrk script prints its quantile function.
GRID = [i * 0.5 for i in range(180)] + [round(90 + i * 0.01, 2) for i in range(1000)]


def _wrk_percentile(ordered: list[int], percent: float) -> int:
    """wrk's rule: the least latency at which the count reaches round(p/100 x n + 0.5)."""
    rank = math.floor(percent / 100 * len(ordered) + 0.5 + 0.5)  # C's round, half away
    return ordered[min(len(ordered), max(1, rank)) - 1]


def _window(latencies_us: list[int], seconds: float = 3.0, status_errors: int = 0) -> Load:
    """A window as wrk reports it from these latencies: counts, p50, p99, quantiles."""
    ordered = sorted(latencies_us)
    return Load(
        requests=len(ordered),
        seconds=seconds,
        socket_errors=0,
        status_errors=status_errors,
        p50_ms=_wrk_percentile(ordered, 50) / 1000,
        p99_ms=_wrk_percentile(ordered, 99) / 1000,
        quantiles=tuple((pct, _wrk_percentile(ordered, pct) / 1000) for pct in GRID),
    )


def _share_within(latencies_us: list[int], limit_ms: float) -> float:
    return sum(1 for us in latencies_us if us / 1000 <= limit_ms) / len(latencies_us)


def test_windows_combine_into_one_figure_with_the_percentiles_of_all_their_requests() -> None:
    draw = random.Random(7)
    calm = [draw.randint(2_000, 20_000) for _ in range(1_000)]
    stalled = [draw.randint(2_000, 20_000) for _ in range(890)] + [60_000] * 10
    quick = [draw.randint(1_500, 18_000) for _ in range(1_100)]
    windows = [_window(calm), _window(stalled, status_errors=2), _window(quick)]

    load = combined(windows)

    assert (load.requests, load.seconds, load.status_errors) == (3_000, 9.0, 2)
    assert load.per_s == pytest.approx(3_000 / 9.0)
    # One stalled window: its own p99 is 60 ms, but of all 3,000 requests only 10 took that
    # long, so the p99 of them all is the calm windows' tail, not the highest window's.
    assert windows[1].p99_ms == 60.0
    everything = calm + stalled + quick
    assert load.p99_ms < 60.0
    assert _share_within(everything, load.p99_ms) >= 0.99
    assert _share_within(everything, load.p99_ms - 0.001) < 0.99 + 0.0001  # to the grid's step
    assert _share_within(everything, load.p50_ms) >= 0.5
    assert _share_within(everything, load.p50_ms - 0.001) < 0.5 + 0.005
    with pytest.raises(ValueError):
        combined([])


def test_one_window_merges_into_its_own_percentiles() -> None:
    draw = random.Random(11)
    window = _window([draw.randint(1_000, 90_000) for _ in range(5_000)])
    assert merged_percentile([window], 99.0) == window.p99_ms
    assert merged_percentile([window], 50.0) == window.p50_ms
    # A window without requests weighs nothing; one with requests but no quantiles is refused.
    empty = Load(0, 3.0, socket_errors=64, status_errors=0, p50_ms=0.0, p99_ms=0.0)
    assert merged_percentile([window, empty], 99.0) == window.p99_ms
    assert merged_percentile([empty], 99.0) == 0.0
    bare = Load(10, 3.0, socket_errors=0, status_errors=0, p50_ms=1.0, p99_ms=2.0)
    with pytest.raises(ValueError):
        merged_percentile([window, bare], 99.0)


def test_the_measured_time_is_shared_out_in_whole_seconds_never_less_than_asked() -> None:
    assert window_seconds(15.0) == 5
    assert window_seconds(10.0) == 4  # 12 s measured rather than 9
    assert window_seconds(2.0) == 1
    assert window_seconds(0.5) == 1


@dataclass(frozen=True)
class _Recorded(Side):
    """A side that records when it ran instead of sending load: the turns are the subject."""

    runs: list[tuple[int, float]] = field(default_factory=list)

    def run(self, seconds: float) -> Measured:
        self.runs.append((self.port, seconds))
        database = 0.25 if self.port == 2 else None  # only side 2 has a database to read
        return Measured(_window([1_000 * self.port] * (100 * self.port), seconds), 0.5, database)


def test_sides_warm_up_then_take_turns_in_reversed_order_each_window() -> None:
    scenario = Scenario("one_fix", 1, [])
    timeline: list[tuple[int, float]] = []
    sides = [
        _Recorded(port, 0, scenario, Path("/nonexistent"), runs=timeline) for port in (1, 2, 3)
    ]

    measured = measured_in_turns(sides, seconds=15.0, warmup_s=3.0, windows=3)

    warmups, windows = timeline[:3], timeline[3:]
    assert warmups == [(1, 3.0), (2, 3.0), (3, 3.0)]
    assert [port for port, _ in windows] == [1, 2, 3, 3, 2, 1, 1, 2, 3]
    assert {seconds for _, seconds in windows} == {5}
    # Each side gets its own windows, not the warm-up: 3 x 5 s, its requests and CPU summed.
    for side, figure in zip(sides, measured, strict=True):
        assert figure.load.seconds == 15
        assert figure.load.requests == 3 * 100 * side.port
        assert figure.cpu_s == pytest.approx(1.5)
        assert figure.load.p99_ms == side.port
    assert [figure.database_cpu_s for figure in measured] == [None, pytest.approx(0.75), None]


def test_database_cpu_counts_each_backend_from_its_first_reading_or_its_birth() -> None:
    before = {101: 2.0, 102: 5.0, 103: 1.0}
    # 101 worked 0.5 s, 102 was idle, 103 ended (not counted), 104 was born and worked 0.25 s.
    after = {101: 2.5, 102: 5.0, 104: 0.25}
    assert used_between(before, after) == pytest.approx(0.75)


def test_only_a_postgresql_server_on_this_machine_has_its_processes_read() -> None:
    assert BackendClock.for_store("postgresql://u:p@127.0.0.1:5432/rescue") is not None
    assert BackendClock.for_store("postgres://u:p@localhost/rescue") is not None
    assert BackendClock.for_store("postgresql://u:p@db.example.net:5432/rescue") is None
    assert BackendClock.for_store("sqlite:////tmp/rescue.db") is None
