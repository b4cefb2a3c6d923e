"""The list of benchmarks `rescue bench` runs, and what each is handed.

A benchmark is a function `(BenchContext) -> list[Row]`, named here as
"module:function" so that its imports (and any failure in them) happen only
when it runs. To add one, append a `Benchmark` to `BENCHMARKS` (or call
`register` before `run_suite`):

    Benchmark("ws_fanout", "WebSocket fan-out vs a bare websockets server",
              "rescue.bench.fanout:fanout_rows")

Each row states its goal (see `rescue.bench.report`); the same function
serves `--quick` (`ctx.quick`: small sizes, seconds) and the full run.
Shared, expensive fixtures live on the context and are built once per run:
`ctx.corpus(n)` is an event log of about n events (the full run uses 1M).
Benchmarks of a running server make a row per store in `ctx.stores` (SQLite,
and PostgreSQL under `rescue bench --pg-url`), each named with its store's
`suffix` and measured against the same baseline of the same run.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.progress import Progress

from rescue.bench.corpus import Corpus, build_corpus
from rescue.bench.report import Row
from rescue.bench.stores import BenchStore, stores_for

__all__ = ["BENCHMARKS", "BenchContext", "Benchmark", "BenchmarkFn", "register"]


@dataclass
class BenchContext:
    quick: bool
    workdir: Path  # scratch space, removed after the run
    progress: Progress
    pg_url: str | None = None  # a PostgreSQL server the server benchmarks also run on
    _corpora: dict[int, Corpus] = field(default_factory=dict)

    @property
    def log_events(self) -> int:
        """Size of the event log the history benchmarks run against."""
        return 20_000 if self.quick else 1_000_000

    @property
    def stores(self) -> list[BenchStore]:
        """The stores the server benchmarks run on: SQLite, and PostgreSQL with `pg_url`."""
        return stores_for(self.pg_url)

    def corpus(self, events: int | None = None) -> Corpus:
        """An event log of about `events` events (default `log_events`), built once per run."""
        n = events or self.log_events
        if n not in self._corpora:
            self._corpora[n] = build_corpus(self.workdir, n, progress=self.progress)
        return self._corpora[n]


BenchmarkFn = Callable[[BenchContext], list[Row]]


@dataclass(frozen=True)
class Benchmark:
    name: str
    title: str
    target: str  # "module:function"

    def load(self) -> BenchmarkFn:
        module, _, function = self.target.partition(":")
        fn: BenchmarkFn = getattr(importlib.import_module(module), function)
        return fn


BENCHMARKS: list[Benchmark] = [
    Benchmark(
        "ingest",
        "store append of positions vs raw sqlite3",
        "rescue.bench.standard:ingest_rows",
    ),
    Benchmark(
        "http",
        "HTTP ingest and reads through rescue serve vs bare FastAPI routes (wrk)",
        "rescue.bench.http_rows:http_rows",
    ),
    Benchmark(
        "calls",
        "an operator's call and dispatch while vans report, vs the same server idle",
        "rescue.bench.http_rows:call_dispatch_rows",
    ),
    Benchmark(
        "dispatch",
        "dispatch rule vs brute-force geodesic ranking",
        "rescue.bench.standard:dispatch_rows",
    ),
    Benchmark(
        "time_travel",
        "an incident as of a moment vs its current state",
        "rescue.bench.standard:time_travel_rows",
    ),
    Benchmark(
        "cold_start",
        "cold start to /healthz vs a bare uvicorn app",
        "rescue.bench.standard:cold_start_rows",
    ),
    Benchmark(
        "rebuild",
        "read-model rebuild vs a raw read of the same notifications",
        "rescue.bench.live_rows:rebuild_rows",
    ),
    Benchmark(
        "live",
        "GPS to board clients: latency, and server CPU vs a bare websockets server",
        "rescue.bench.live_rows:live_rows",
    ),
    Benchmark(
        "memory",
        "server memory per 1,000 open sockets vs a bare websockets server",
        "rescue.bench.live_rows:memory_rows",
    ),
    Benchmark(
        "webhooks",
        "webhook deliveries under GPS load vs a bare httpx loop posting the same bodies",
        "rescue.bench.webhooks:webhook_rows",
    ),
]


def register(benchmark: Benchmark) -> None:
    """Adds a benchmark (replacing one of the same name)."""
    BENCHMARKS[:] = [b for b in BENCHMARKS if b.name != benchmark.name] + [benchmark]
