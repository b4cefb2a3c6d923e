"""wrk's quantile function, as the HTTP benchmark reads it from a real wrk run."""

from __future__ import annotations

from pathlib import Path

from rescue.bench.http_paths import bare_http_server
from rescue.bench.wrk import Request, combined, run_wrk


def test_a_real_wrk_run_reports_its_quantiles_and_windows_merge_between_their_own(
    tmp_path: Path,
) -> None:
    reads = [Request("GET", f"/api/vans/V-{n:04d}") for n in range(20)]
    with bare_http_server(1) as (port, _):
        windows = [
            run_wrk(f"http://127.0.0.1:{port}", reads, tmp_path, connections=8, seconds=1)
            for _ in range(2)
        ]

    for window in windows:
        assert window.requests > 0 and window.errors == 0
        percents = [pct for pct, _ in window.quantiles]
        latencies = [ms for _, ms in window.quantiles]
        assert percents == sorted(percents) and len(percents) == 1_180
        assert latencies == sorted(latencies)  # a quantile function never falls
        # The grid holds wrk's own p50 and p99, as it printed them on its result line.
        quantiles = dict(window.quantiles)
        assert quantiles[50.0] == window.p50_ms and quantiles[99.0] == window.p99_ms

    both = combined(windows)
    assert both.requests == sum(w.requests for w in windows)
    assert min(w.p99_ms for w in windows) <= both.p99_ms <= max(w.p99_ms for w in windows)
    assert min(w.p50_ms for w in windows) <= both.p50_ms <= max(w.p50_ms for w in windows)
