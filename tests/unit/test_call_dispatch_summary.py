"""The calls row's summary: the whole call + dispatch, and each of the two alone."""

from __future__ import annotations

import math

from rescue.bench.call_dispatch import _summary


def test_a_slow_dispatch_shows_in_the_dispatch_alone_not_in_the_call() -> None:
    # 200 samples: the calls take 10-29.9 ms, the dispatches 5 ms but for two stalls.
    samples = [(10.0 + n / 10, 5.0) for n in range(200)]
    samples[7] = (10.7, 90.0)
    samples[150] = (25.0, 120.0)

    summary = _summary(samples, failed=3)

    assert summary["calls"] == 203 and summary["failed"] == 3
    assert summary["max_ms"] == 145.0
    # The 199th of 200 in order: the second slowest whole sample.
    assert summary["p99_ms"] == 100.7
    assert summary["dispatch_p99_ms"] == 90.0
    assert summary["call_p99_ms"] == 29.8
    # 15.0-34.9 ms in steps of 0.1 with 15.7 and 30.0 taken out: the 101st is 25.1.
    assert summary["p50_ms"] == 25.1


def test_no_sample_gives_no_figure_rather_than_a_made_up_one() -> None:
    summary = _summary([], failed=5)

    assert summary["calls"] == 5
    assert all(
        math.isnan(summary[k])
        for k in ("p50_ms", "p99_ms", "max_ms", "call_p99_ms", "dispatch_p99_ms")
    )
