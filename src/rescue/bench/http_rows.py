"""The HTTP path benchmarks as report rows (registered in rescue.bench.registry), a set per
store the run covers (SQLite, and PostgreSQL under `rescue bench --pg-url`)."""

from __future__ import annotations

from typing import Any

from rescue.bench.processes import serve_processes
from rescue.bench.registry import BenchContext
from rescue.bench.report import Cond, Goal, Row
from rescue.bench.wrk import INSTALL_HINT, wrk_command

__all__ = ["call_dispatch_rows", "http_rows"]

_INGEST = "HTTP ingest through rescue serve"
_READ = "authenticated GET /api/vans/{id}"


def http_rows(ctx: BenchContext) -> list[Row]:
    if wrk_command() is None:
        return [
            Row(
                metric=metric + store.suffix, value=None, unit=unit, note=f"skipped: {INSTALL_HINT}"
            )
            for store in ctx.stores
            for metric, unit in (
                (f"{_INGEST}, 1 fix per request", "positions/s"),
                (f"{_INGEST}, 10 fixes per request", "positions/s"),
                (_READ, "requests/s"),
            )
        ]
    from rescue.bench.http_paths import PATHS, bench_http

    vans, seconds, warmup_s = (100, 2.0, 1.0) if ctx.quick else (1000, 15.0, 3.0)
    stores = ctx.stores
    task = ctx.progress.add_task(
        "HTTP paths: rescue serve vs bare FastAPI (wrk)", total=(len(stores) + 1) * len(PATHS)
    )
    results = bench_http(
        vans, seconds, warmup_s, advance=lambda: ctx.progress.advance(task), stores=stores
    )
    return [row for store in stores for row in _store_rows(results[store.name], store.suffix)]


def _store_rows(result: dict[str, Any], suffix: str) -> list[Row]:
    """The HTTP rows of one store's server; `suffix` names the store in each row."""
    from rescue.bench.http_paths import PATHS

    setup = (
        f"{result['connections']} connections for {result['windows']} x "
        f"{result['window_s']:g} s after {result['warmup_s']:g} s of warm-up, the servers taking "
        f"turns window by window, {result['vans']:,} vans and tokens in turn, wrk on the same "
        "cores; baseline: bare FastAPI route on the same uvicorn parsing the same body, "
        f"{result['server_processes']} server process(es) each; p99 of all the windows' "
        "requests together"
    )
    one, ten, read = (result[name] for name in PATHS)
    return [
        Row(
            metric=f"{_INGEST}, 1 fix per request{suffix}",
            value=one["ours"]["positions_per_s"],
            unit="positions/s",
            baseline=one["bare"]["positions_per_s"],
            ratio=_rate_ratio(one),
            goal=Goal.of(Cond("ratio", ">=", 0.5)),
            note=f"{_latencies(one)}; {_cpu(one)}; {setup}",
            extra=result,
        ),
        Row(
            metric=f"{_INGEST} p99, 1 fix per request{suffix}",
            value=one["ours"]["p99_ms"],
            unit="ms",
            baseline=one["bare"]["p99_ms"],
            ratio=_time_ratio(one["ours"]["p99_ms"], one["bare"]["p99_ms"]),
            goal=Goal.of(Cond("value", "<=", 50.0, "ms")),
            note=f"at {result['connections']} connections; baseline: the bare route's p99",
            extra=result,
        ),
        Row(
            metric=f"{_INGEST}, 10 fixes per request{suffix}",
            value=ten["ours"]["positions_per_s"],
            unit="positions/s",
            baseline=ten["bare"]["positions_per_s"],
            ratio=_rate_ratio(ten),
            goal=Goal.of(Cond("value", ">=", 8000.0, "positions/s")),
            note=f"{_latencies(ten)}; {setup}",
            extra=result,
        ),
        Row(
            metric=f"{_READ}{suffix}",
            value=read["ours"]["requests_per_s"],
            unit="requests/s",
            baseline=read["bare"]["requests_per_s"],
            ratio=_rate_ratio(read, "requests_per_s"),
            goal=Goal.of(Cond("ratio", ">=", 0.5)),
            note=f"{_latencies(read)}; each van read with its crew's token; {setup}",
            extra=result,
        ),
    ]


def _rate_ratio(paths: dict[str, Any], key: str = "positions_per_s") -> float | None:
    bare = paths["bare"][key]
    return round(paths["ours"][key] / bare, 3) if bare else None


def _time_ratio(ours: float, bare: float) -> float | None:
    return round(bare / ours, 3) if ours else None


def _latencies(paths: dict[str, Any]) -> str:
    ours, bare = paths["ours"], paths["bare"]
    errors = ours["status_errors"] + ours["socket_errors"]
    failed = f", {errors} requests failed" if errors else ""
    return (
        f"p50 {ours['p50_ms']:g} ms, p99 {ours['p99_ms']:g} ms (bare {bare['p50_ms']:g} / "
        f"{bare['p99_ms']:g} ms){failed}"
    )


def _cpu(paths: dict[str, Any]) -> str:
    """CPU a request on each side; on a PostgreSQL server on this machine, its processes' too
    (they share the cores with the server, wrk and the baseline)."""
    ours, bare = paths["ours"], paths["bare"]
    database = ours.get("database_cpu_us_per_request")
    spent = f", the database's processes {database:g} µs" if database is not None else ""
    return (
        f"CPU a request: server {ours['server_cpu_us_per_request']:g} µs{spent} "
        f"(bare {bare['server_cpu_us_per_request']:g} µs)"
    )


def call_dispatch_rows(ctx: BenchContext) -> list[Row]:
    """An operator's call and dispatch while vans report and boards watch, against idle,
    on each store."""
    from rescue.bench.call_dispatch import bench_call_dispatch

    # 200 calls: of 100, the p99 (the 99th of 100 in order) was the slowest call.
    vans, clients, calls = (100, 20, 10) if ctx.quick else (1000, 200, 200)
    processes = serve_processes()
    rows = []
    for store in ctx.stores:
        task = ctx.progress.add_task(
            f"operator call + dispatch on {store.name}, idle then under load", total=1
        )
        result = bench_call_dispatch(vans, clients, calls, workers=processes.count, store=store)
        ctx.progress.advance(task)
        rows.append(_call_row(result, calls, processes.described, store.suffix))
    return rows


def _call_row(result: dict[str, Any], calls: int, processes: str, suffix: str) -> Row:
    vans, clients = result["vans"], result["clients"]
    idle, loaded = result["idle"], result["loaded"]
    failed = idle["failed"] + loaded["failed"]
    return Row(
        metric=f"operator call + dispatch p99 ({vans:,} vans at 1 Hz, {clients} boards){suffix}",
        value=loaded["p99_ms"],
        unit="ms",
        baseline=idle["p99_ms"],
        ratio=_time_ratio(loaded["p99_ms"], idle["p99_ms"]),
        goal=Goal.of(Cond("value", "<=", 200.0, "ms")),
        note=(
            f"POST /api/incidents then /dispatch, {calls} calls in turn; p50 "
            f"{loaded['p50_ms']:g} ms (idle {idle['p50_ms']:g} ms), the slowest "
            f"{loaded['max_ms']:g} ms; p99 of the call alone {loaded['call_p99_ms']:g} ms, "
            f"of the dispatch alone {loaded['dispatch_p99_ms']:g} ms; baseline: the same "
            f"server idle; positions reached boards at p99 "
            f"{result['position_p99_ms_while_loaded']:g} ms meanwhile; {processes}"
            + (f"; {failed} calls failed" if failed else "")
        ),
        extra=result,
    )
