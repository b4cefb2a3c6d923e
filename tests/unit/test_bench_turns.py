"""The HTTP benchmark's servers take turns in short windows, and each side's windows add up."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from rescue.bench.http_paths import Scenario, Side, measured_in_turns, window_seconds
from rescue.bench.wrk import Load, combined


def _load(requests: int, seconds: float, p50: float, p99: float, status_errors: int = 0) -> Load:
    return Load(
        requests, seconds, socket_errors=0, status_errors=status_errors, p50_ms=p50, p99_ms=p99
    )


def test_windows_combine_into_one_figure_that_never_flatters_the_tail() -> None:
    load = combined(
        [_load(1_000, 3.0, 4.0, 20.0), _load(900, 3.0, 5.0, 35.0, 2), _load(1_100, 3.0, 3.5, 18.0)]
    )
    assert (load.requests, load.seconds, load.status_errors) == (3_000, 9.0, 2)
    assert load.per_s == pytest.approx(3_000 / 9.0)
    assert load.p50_ms == 4.0  # the middle window's
    assert load.p99_ms == 35.0  # the highest: windows' percentiles cannot be merged exactly
    with pytest.raises(ValueError):
        combined([])


def test_the_measured_time_is_shared_out_in_whole_seconds_never_less_than_asked() -> None:
    assert window_seconds(15.0) == 5
    assert window_seconds(10.0) == 4  # 12 s measured rather than 9
    assert window_seconds(2.0) == 1
    assert window_seconds(0.5) == 1


@dataclass(frozen=True)
class _Recorded(Side):
    """A side that records when it ran instead of sending load: the turns are the subject."""

    runs: list[tuple[int, float]] = field(default_factory=list)

    def run(self, seconds: float) -> tuple[Load, float]:
        self.runs.append((self.port, seconds))
        return _load(100 * self.port, seconds, 1.0, float(self.port)), 0.5


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
