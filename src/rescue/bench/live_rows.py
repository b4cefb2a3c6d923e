"""The live-feed and rebuild benchmarks as report rows (registered in rescue.bench.registry);
the live feed makes its rows on each store the run covers."""

from __future__ import annotations

from typing import Any

from rescue.bench.live import bench_live
from rescue.bench.processes import serve_processes
from rescue.bench.rebuild import bench_rebuild
from rescue.bench.registry import BenchContext
from rescue.bench.report import Cond, Goal, Row

__all__ = ["live_rows", "memory_rows", "rebuild_rows"]


def live_rows(ctx: BenchContext) -> list[Row]:
    """The live feed at each size (vans at 1 Hz, board clients), on each store."""
    sizes = [(100, 20)] if ctx.quick else [(1000, 200), (2000, 500)]
    seconds = 5.0 if ctx.quick else 20.0
    processes = serve_processes()
    task = ctx.progress.add_task("live feed: vans to board clients", total=len(sizes))
    rows = []
    for vans, clients in sizes:
        results = bench_live(
            vans=vans, clients=clients, seconds=seconds, stores=ctx.stores, workers=processes.count
        )
        ctx.progress.advance(task)
        rows += [
            row
            for store in ctx.stores
            for row in _live_store_rows(results[store.name], processes.described, store.suffix)
        ]
    return rows


def _live_store_rows(result: dict[str, Any], processes: str, suffix: str) -> list[Row]:
    """The live-feed rows of one store's server; `suffix` names the store in each row."""
    vans, clients = result["vans"], result["clients"]
    delivered = (
        f"{result['changes_received']:,} of {result['changes_expected']:,} changes delivered"
    )
    return [
        Row(
            metric=(
                f"position to board client p99 ({vans:,} vans at 1 Hz, {clients} clients){suffix}"
            ),
            value=float(result["p99_ms"]),
            unit="ms",
            baseline=float(result["bare_p99_ms"]),
            ratio=round(result["bare_p99_ms"] / result["p99_ms"], 3),
            # The fleet's size and the consoles watching it: 2,000 vans to 500 consoles is
            # five times the changes to send, with a looser goal.
            goal=Goal.of(Cond("value", "<=", 250.0 if vans * clients <= 200_000 else 1000.0, "ms")),
            note=(
                f"p50 {result['p50_ms']} ms; {delivered}; {processes}; load generator on the "
                "same cores; baseline: bare websockets broadcast server"
            ),
            extra=result,
        ),
        Row(
            metric=f"server CPU per delivered change ({clients} board clients){suffix}",
            value=float(result["cpu_us_per_change"]),
            unit="us",
            baseline=float(result["bare_cpu_us_per_change"]),
            ratio=round(result["bare_cpu_us_per_change"] / result["cpu_us_per_change"], 3),
            goal=Goal.of(Cond("ratio", ">=", 0.5)),
            note=(
                "goal: at most 2x the bare websockets broadcast server (ratio >= 0.5); "
                f"{processes}, CPU summed over them"
            ),
            extra=result,
        ),
    ]


def rebuild_rows(ctx: BenchContext) -> list[Row]:
    corpus = ctx.corpus()
    task = ctx.progress.add_task("projection rebuild vs raw read", total=1)
    result = bench_rebuild(corpus)
    ctx.progress.advance(task)
    return [
        Row(
            metric=f"read-model rebuild ({result['events']:,} events)",
            value=float(result["rebuild_per_s"]),
            unit="events/s",
            baseline=float(result["raw_per_s"]),
            ratio=float(result["ratio"]),
            goal=Goal.of(Cond("ratio", ">=", 0.3)),
            note=f"rebuild took {result['rebuild_s']} s (goal for 1M events: under 30 s); "
            "baseline: sqlite3 reading the same rows",
            extra=result,
        )
    ]


def memory_rows(ctx: BenchContext) -> list[Row]:
    from rescue.bench.memory import bench_memory

    sockets = 200 if ctx.quick else 1000
    task = ctx.progress.add_task("memory per open socket", total=1)
    result = bench_memory(sockets)
    ctx.progress.advance(task)
    return [
        Row(
            metric=f"server memory per 1,000 open sockets ({sockets} opened)",
            value=float(result["mb_per_1000"]),
            unit="MB",
            baseline=float(result["bare_mb_per_1000"]),
            ratio=round(result["bare_mb_per_1000"] / result["mb_per_1000"], 3)
            if result["mb_per_1000"] > 0
            else None,
            note="idle crew sockets after their snapshot; baseline: bare websockets server",
            extra=result,
        )
    ]
