"""Store reads for `async def` routes, on a few threads of their own.

A plain `def` route runs in Starlette's thread pool (40 threads through
anyio): under load, every read request hands over to one of many threads
that then contend for the interpreter and the connection pool, and that
hand-over cost many times the read itself (a van's aggregate: about
130 us of a request's 2.1 ms of CPU at 64 connections, one process). A
small executor of its own, reached with the event loop's `run_in_executor`,
took it to about 1.1 ms and doubled the requests answered. Reads never wait
for writers (WAL on SQLite, MVCC on PostgreSQL), so a few threads keep up.

The request's logging context goes with the read, so its lines keep the
request id.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from starlette.requests import Request

P = ParamSpec("P")
T = TypeVar("T")

# Threads per server process: 2, 4 and 8 measured within the machine's noise of each other.
THREADS = 4


class StoreReads:
    def __init__(self, threads: int = THREADS) -> None:
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="store-read")

    async def run(self, read: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`read(*args, **kwargs)` on a store-read thread, awaited."""
        call = functools.partial(contextvars.copy_context().run, read, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def store_reads(request: Request) -> StoreReads:
    reads: StoreReads = request.app.state.store_reads
    return reads


__all__ = ["THREADS", "StoreReads", "store_reads"]
