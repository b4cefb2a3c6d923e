"""Store reads run on their own threads, keep the request's logging context, and raise as called."""

from __future__ import annotations

import asyncio
import threading

import pytest

from rescue.api.store_reads import StoreReads
from rescue.domain.errors import NotFound
from rescue.logs import current_request, identify, request_context


def where_and_who() -> tuple[str, str | None, str | None]:
    context = current_request()
    assert context is not None, "the read lost the request's context"
    return threading.current_thread().name, context.request_id, context.account


def refused() -> None:
    raise NotFound("no van V9")


def test_a_read_runs_on_a_store_thread_with_the_requests_context() -> None:
    reads = StoreReads(threads=2)

    async def request() -> tuple[str, str | None, str | None]:
        with request_context("req-7"):
            identify("crew-1", "crew")
            return await reads.run(where_and_who)

    try:
        thread, request_id, account = asyncio.run(request())
    finally:
        reads.close()
    assert thread.startswith("store-read")
    assert (request_id, account) == ("req-7", "crew-1")


def test_a_refused_read_raises_in_the_caller() -> None:
    reads = StoreReads(threads=1)
    try:
        with pytest.raises(NotFound, match="no van V9"):
            asyncio.run(reads.run(refused))
    finally:
        reads.close()
