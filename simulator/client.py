"""The simulator's HTTP client: bearer tokens, Idempotency-Key, retries, bounded concurrency.

Every POST carries a fresh Idempotency-Key, and a retry after a dropped
connection or a 502/503/504 reuses it, so a retried step is recorded once, as
a tablet on a flaky mobile network would rely on; a 429 is retried after
the Retry-After it names, as a polite client does. At most `concurrency`
requests are in flight at once on one client: the call-taker's desk has a
few connections, and each crew's tablet has one of its own
(`own_connection`), so a surge of calls never holds a crew's step back.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter, deque
from typing import Any

import httpx

__all__ = ["Api", "ApiError"]

log = logging.getLogger("rescue.simulator")

_RETRY_STATUS = frozenset({502, 503, 504})


def _retry_after_s(response: httpx.Response) -> float:
    """The wait a 429 asks for (whole seconds), one second if it names none."""
    try:
        return min(float(response.headers.get("Retry-After", "1")), 30.0)
    except ValueError:
        return 1.0


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
        requests: Counter[str] | None = None,
        latencies: deque[float] | None = None,
    ) -> None:
        self.base_url = base_url
        self.concurrency = concurrency
        self._timeout_s = timeout_s
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=timeout_s,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )
        # Requests in flight at once: more wait here, as they would for a connection.
        self._gate = asyncio.Semaphore(concurrency)
        self._retries = retries
        self.requests: Counter[str] = Counter() if requests is None else requests  # "POST 202" -> n
        # Wall seconds from asking to answered, waiting for a free connection included:
        # how far behind its own clock a simulated person falls while waiting.
        self.latencies: deque[float] = deque(maxlen=5000) if latencies is None else latencies

    def own_connection(self, latencies: deque[float]) -> Api:
        """A client with one connection of its own, as a crew's tablet has, outside this
        client's bound. Its requests are counted with this client's, its latencies kept
        in `latencies`."""
        return Api(
            self.base_url,
            concurrency=1,
            timeout_s=self._timeout_s,
            retries=self._retries,
            requests=self.requests,
            latencies=latencies,
        )

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

    async def upload(
        self, path: str, token: str, files: dict[str, Any], data: dict[str, str]
    ) -> httpx.Response:
        """A multipart POST (a photo), with its own Idempotency-Key like every POST."""
        key = str(uuid.uuid4())
        return await self._send("POST", path, token, files=files, data=data, idempotency_key=key)

    async def _send(
        self,
        method: str,
        path: str,
        token: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        files: dict[str, Any] | None = None,
        data: dict[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        asked = time.monotonic()
        try:
            return await self._attempts(method, path, params, json, headers, files, data)
        finally:
            self.latencies.append(time.monotonic() - asked)

    async def _attempts(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        json: Any,
        headers: dict[str, str],
        files: dict[str, Any] | None = None,
        data: dict[str, str] | None = None,
    ) -> httpx.Response:
        delay = 0.1
        problem = ""
        for attempt in range(self._retries + 1):
            if attempt:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
            try:
                async with self._gate:
                    response = await self._http.request(
                        method,
                        path,
                        params=params,
                        json=json,
                        files=files,
                        data=data,
                        headers=headers,
                    )
            except httpx.TransportError as error:
                problem = f"{type(error).__name__}: {error}"
                self.requests[f"{method} transport-error"] += 1
                continue
            self.requests[f"{method} {response.status_code}"] += 1
            if response.status_code in _RETRY_STATUS:
                problem = f"{response.status_code} {response.text[:200]}"
                continue
            if response.status_code == 429 and attempt < self._retries:
                delay = max(delay, _retry_after_s(response))
                continue
            return response
        raise ApiError(f"{method} {path} failed after {self._retries + 1} tries: {problem}")
