"""The simulator's HTTP client: bearer tokens, Idempotency-Key, retries, bounded concurrency.

Every POST carries a fresh Idempotency-Key, and a retry after a dropped
connection or a 502/503/504 reuses it, so a retried step is recorded once, as
a tablet on a flaky mobile network would rely on. At most `concurrency`
requests are in flight at once: the simulator is a load generator, and an
unbounded one would measure its own queueing instead of the server.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from typing import Any

import httpx

__all__ = ["Api", "ApiError"]

log = logging.getLogger("rescue.simulator")

_RETRY_STATUS = frozenset({502, 503, 504})


class ApiError(RuntimeError):
    """A request that still failed after its retries (transport error or 5xx)."""


class Api:
    def __init__(
        self,
        base_url: str,
        *,
        concurrency: int = 16,
        timeout_s: float = 60.0,
        retries: int = 4,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=timeout_s,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )
        self._gate = asyncio.Semaphore(concurrency)
        self._retries = retries
        self.requests: Counter[str] = Counter()  # "POST 202" -> count

    async def aclose(self) -> None:
        await self._http.aclose()

    async def get(
        self, path: str, token: str, params: dict[str, Any] | None = None
    ) -> httpx.Response:
        return await self._send("GET", path, token, params=params)

    async def post(self, path: str, token: str, body: Any = None) -> httpx.Response:
        key = str(uuid.uuid4())
        return await self._send(
            "POST", path, token, json={} if body is None else body, idempotency_key=key
        )

    async def _send(
        self,
        method: str,
        path: str,
        token: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        delay = 0.1
        problem = ""
        for attempt in range(self._retries + 1):
            if attempt:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
            try:
                async with self._gate:
                    response = await self._http.request(
                        method, path, params=params, json=json, headers=headers
                    )
            except httpx.TransportError as error:
                problem = f"{type(error).__name__}: {error}"
                self.requests[f"{method} transport-error"] += 1
                continue
            self.requests[f"{method} {response.status_code}"] += 1
            if response.status_code in _RETRY_STATUS:
                problem = f"{response.status_code} {response.text[:200]}"
                continue
            return response
        raise ApiError(f"{method} {path} failed after {self._retries + 1} tries: {problem}")
