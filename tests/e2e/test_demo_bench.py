"""`rescue bench --quick`, as CI runs it: a table, bench.json with the required keys, bench.png."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REQUIRED = {"metric", "value", "unit", "baseline", "ratio", "goal", "met"}


def test_bench_quick_writes_the_table_json_and_chart(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    done = subprocess.run(
        [sys.executable, "-m", "rescue.cli", "bench", "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        # A few minutes on a busy two-core machine; the limit only catches a hang.
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    # 1. bench.json: a list of rows with the required keys, one per measured metric.
    rows = json.loads((out / "bench.json").read_text())
    assert isinstance(rows, list) and rows
    for row in rows:
        assert set(row) >= REQUIRED, row
        assert isinstance(row["value"], int | float), row
        assert isinstance(row["baseline"], int | float), row
        # A row without a goal (memory per socket is reported, not judged) has met null.
        assert isinstance(row["met"], bool) or (row["goal"] is None and row["met"] is None), row
    metrics = [r["metric"] for r in rows]
    for batch in (10, 100, 1000):
        assert f"store append of positions, batch {batch}" in metrics
        assert f"position writer from reports, batch {batch}" in metrics
    for prefix in ("dispatch query p99", "incident as of a moment p99", "cold start to /healthz"):
        assert any(m.startswith(prefix) for m in metrics), metrics
    # The HTTP paths through a real server (wrk, which scripts/test.sh installs): every
    # request was answered with a success, on our server and on the bare one.
    http = [r for r in rows if r["metric"].startswith("HTTP ingest through rescue serve")]
    assert len(http) == 3, metrics
    assert "authenticated GET /api/vans/{id}" in metrics
    for path in http[0]["details"].values():
        if isinstance(path, dict):
            for side in (path["ours"], path["bare"]):
                assert side["requests"] > 0 and side["status_errors"] == 0, path

    # 2. Ratios read "higher is better" and agree with value and baseline.
    for row in rows:
        if row["unit"].endswith("/s"):  # a rate
            expected = row["value"] / row["baseline"]
        else:
            expected = row["baseline"] / row["value"]
        assert abs(row["ratio"] - expected) <= 0.05 * expected + 0.01, row

    # 3. The chart is a PNG, and the table was printed with its goals.
    assert (out / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "ratio >= 0.6" in done.stdout and "met" in done.stdout
    assert (out / "bench.md").read_text().count("\n|") >= len(rows) + 1
