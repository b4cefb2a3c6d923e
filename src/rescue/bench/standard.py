"""The benchmarks of issue 6 as report rows: sizes for `--quick` and full runs, and the goals."""

from __future__ import annotations

from rescue.bench.coldstart import bench_cold_start
from rescue.bench.dispatch import bench_dispatch
from rescue.bench.history import bench_time_travel
from rescue.bench.ingest import bench_ingest
from rescue.bench.registry import BenchContext
from rescue.bench.report import Cond, Goal, Row

__all__ = ["cold_start_rows", "dispatch_rows", "ingest_rows", "time_travel_rows"]

INGEST_BATCHES = (10, 100, 1000)
# Batches timed per size in a full run: small batches are cheap and their fsync-bound
# times the noisiest, so they get more.
INGEST_ROUNDS = {10: 300, 100: 100, 1000: 40}


def ingest_rows(ctx: BenchContext) -> list[Row]:
    """Two rows per batch size: the store's append (the >= 60% goal) and the whole writer."""
    task = ctx.progress.add_task("position ingest vs raw sqlite3", total=len(INGEST_BATCHES))
    rows = []
    for batch in INGEST_BATCHES:
        rounds = 10 if ctx.quick else INGEST_ROUNDS[batch]
        note = f"median of {rounds} batches, each one transaction, WAL + synchronous=FULL"
        result = bench_ingest(vans=batch, batches=rounds)
        for metric, side, goal, what in (
            (
                "store append of positions",
                "store",
                Goal.of(Cond("ratio", ">=", 0.6)),
                "events and their hash chain row",
            ),
            ("position writer from reports", "writer", None, "versions, encoding, chain, save"),
        ):
            rows.append(
                Row(
                    metric=f"{metric}, batch {batch}",
                    value=float(result[f"{side}_per_s"]),
                    unit="positions/s",
                    baseline=float(result["raw_per_s"]),
                    ratio=float(result[f"{side}_ratio"]),
                    goal=goal,
                    note=f"{note}; {what}",
                    extra=result,
                )
            )
        ctx.progress.advance(task)
    return rows


def dispatch_rows(ctx: BenchContext) -> list[Row]:
    stations, vans, queries = (1000, 2000, 300) if ctx.quick else (5000, 10000, 2000)
    task = ctx.progress.add_task("dispatch rule vs brute force", total=1)
    result = bench_dispatch(stations=stations, vans=vans, queries=queries)
    ctx.progress.advance(task)
    identical = "identical" if result["identical"] else f"{result['mismatches']} MISMATCHES"
    return [
        Row(
            metric=f"dispatch query p99 ({stations:,} stations, {result['vans']:,} vans)",
            value=float(result["index_p99_ms"]),
            unit="ms",
            baseline=float(result["baseline_p99_ms"]),
            ratio=float(result["ratio_p99"]),
            goal=Goal.of(Cond("value", "<=", 1.0, "ms"), Cond("ratio", ">=", 20.0)),
            note=(
                f"{queries} queries, brute force on {result['baseline_queries']}; "
                f"answers {identical}; index build {result['index_build_ms']} ms"
            ),
            extra=result,
        )
    ]


def time_travel_rows(ctx: BenchContext) -> list[Row]:
    corpus = ctx.corpus()
    result = bench_time_travel(corpus, samples=100 if ctx.quick else 500, progress=ctx.progress)
    return [
        Row(
            metric=f"incident as of a moment p99 ({corpus.events:,} events)",
            value=float(result["as_of_p99_ms"]),
            unit="ms",
            baseline=float(result["current_p99_ms"]),
            ratio=round(result["current_p99_ms"] / result["as_of_p99_ms"], 3),
            goal=Goal.of(Cond("value", "<=", 10.0, "ms")),
            note=(
                f"{result['incidents']} incidents of ~{result['events_per_incident']} events; "
                "baseline: the incident's current state"
            ),
            extra=result,
        )
    ]


def cold_start_rows(ctx: BenchContext) -> list[Row]:
    corpus = ctx.corpus()
    task = ctx.progress.add_task("cold starts", total=1)
    result = bench_cold_start(corpus, repeats=2 if ctx.quick else 3)
    ctx.progress.advance(task)
    return [
        Row(
            metric=f"cold start to /healthz ({corpus.events:,} events)",
            value=float(result["rescue_median_s"]),
            unit="s",
            baseline=float(result["bare_median_s"]),
            ratio=round(result["bare_median_s"] / result["rescue_median_s"], 3),
            goal=Goal.of(Cond("value", "<=", 3.0, "s")),
            note=f"median of {result['repeats']}; baseline: bare FastAPI app under uvicorn",
            extra=result,
        )
    ]
