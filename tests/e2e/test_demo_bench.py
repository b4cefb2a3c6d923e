"""`rescue bench --quick`, as CI runs it: a table, bench.json with the required keys, bench.png."""

from __future__ import annotations

import json
import os
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


def test_bench_quick_on_postgresql_adds_its_rows_against_the_same_baselines(
    tmp_path: Path, postgres_url: str
) -> None:
    """`--pg-url`: the server benchmarks run on both stores, in databases of their own."""
    out = tmp_path / "bench"
    only = ["--only", "http", "--only", "live", "--only", "calls"]
    done = subprocess.run(
        [sys.executable, "-m", "rescue.cli", "bench", "--quick", *only, "--out", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "RESCUE_BENCH_PG_URL": postgres_url},
        timeout=900,  # only catches a hang
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    rows = {r["metric"]: r for r in json.loads((out / "bench.json").read_text())}
    suffix = " (PostgreSQL)"
    on_pg = {m.removesuffix(suffix): r for m, r in rows.items() if m.endswith(suffix)}
    # Every row of the three benchmarks, on both stores: 4 HTTP, 2 live feed, 1 call + dispatch.
    assert len(on_pg) == 7 and len(rows) == 14, sorted(rows)
    assert set(on_pg) <= set(rows), sorted(rows)
    for metric, pg in on_pg.items():
        assert isinstance(pg["value"], int | float) and pg["value"] > 0, pg
        sqlite = rows[metric]
        if metric.startswith(("HTTP ingest", "authenticated GET", "position to board")):
            # Both stores' servers are measured against one run of the bare server.
            assert pg["baseline"] == sqlite["baseline"], (sqlite, pg)
    # The database's own processes share the cores: their CPU a fix is measured and shown.
    one_fix = [m for m in on_pg if m.startswith("HTTP ingest") and "1 fix per request" in m]
    ingest = on_pg[next(m for m in one_fix if " p99" not in m)]
    assert ingest["details"]["one_fix"]["ours"]["database_cpu_us_per_request"] > 0, ingest
    assert "the database's processes" in ingest["note"], ingest["note"]
    ingest_sqlite = rows[next(m for m in one_fix if " p99" not in m)]
    assert "database_cpu_us_per_request" not in ingest_sqlite["details"]["one_fix"]["ours"]
    read = rows["authenticated GET /api/vans/{id} (PostgreSQL)"]["details"]
    assert read["store"] == "PostgreSQL"
    for path in read.values():
        if isinstance(path, dict):
            assert path["ours"]["requests"] > 0 and path["ours"]["status_errors"] == 0, path
    # The calls row keeps each call's two requests apart: each alone is within the whole.
    calls = next(r for m, r in on_pg.items() if m.startswith("operator call + dispatch"))
    loaded = calls["details"]["loaded"]
    assert loaded["failed"] == 0 and loaded["calls"] == 10, loaded
    for alone in ("call_p99_ms", "dispatch_p99_ms"):
        assert 0 < loaded[alone] < loaded["max_ms"], loaded
    assert "of the call alone" in calls["note"] and "of the dispatch alone" in calls["note"]
    feed = rows["position to board client p99 (100 vans at 1 Hz, 20 clients) (PostgreSQL)"]
    assert feed["details"]["positions_stored"] > 0
    assert "server process(es)" in feed["note"]

    # The databases the bench made are gone.
    import psycopg

    with psycopg.connect(postgres_url) as conn:
        left = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'rescue_bench_%'"
        ).fetchall()
    assert left == []
