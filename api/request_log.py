"""One log line per request, and a request id that follows the request everywhere.

The id is the caller's `X-Request-ID` when it is a plausible id (1 to 128
letters, digits and `._:-`; anything else could forge or break log lines, so
it is replaced), otherwise a new one. It is answered in the `X-Request-ID`
response header and tagged onto every line logged while the request is handled
(rescue.logs). The request line holds the method, the route template (never
the path: ids are fine, but the query and the body may hold a caller's name or
phone), the status, the time taken, and the account and role once the token
is known; never the token. A WebSocket gets one line when it ends, with its
close code.

An error that no handler turned into an answer is logged here, with its
traceback, on the request's own line, and answered 500 with the request id,
so the operator quoting the id finds the traceback.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import time
import uuid
from typing import Any

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rescue.logs import request_context

HEADER = "X-Request-ID"
_HEADER_KEY = HEADER.lower().encode("latin-1")
_PLAUSIBLE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

log = logging.getLogger("rescue.request")


class _RequestIds:
    """New request ids: 16 random hex digits for the process, then a count in 16 more.

    32 hex digits like a uuid4's, unique across processes and restarts, without asking
    the system for randomness on every request as uuid4 does. A forked child draws a
    prefix of its own.
    """

    def __init__(self) -> None:
        self.renew()
        os.register_at_fork(after_in_child=self.renew)

    def renew(self) -> None:
        self.prefix = uuid.uuid4().hex[:16]
        self.issued = itertools.count(1)

    def new(self) -> str:
        return f"{self.prefix}{next(self.issued):016x}"


_request_ids = _RequestIds()


def request_id_from(scope: Scope) -> str:
    """The caller's request id if it is plausible, else a new one."""
    for name, value in scope.get("headers", ()):
        if name == _HEADER_KEY:
            given = bytes(value).decode("latin-1").strip()
            if _PLAUSIBLE_ID.fullmatch(given):
                return given
            break
    return _request_ids.new()


def route_of(scope: Scope) -> str:
    # Routing records the matched route in the scope, which is shared with this middleware.
    return str(getattr(scope.get("route"), "path", "unmatched"))


class RequestLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = request_id_from(scope)
        status: int | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        started = time.perf_counter()
        with request_context(request_id):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception:
                if status is not None:  # the answer is under way: nothing else can be sent
                    self._line(scope, status, started, logging.ERROR, exc_info=True)
                    raise
                await self._internal_error(request_id, send_with_id)
                self._line(scope, 500, started, logging.ERROR, exc_info=True)
                return
            self._line(
                scope,
                status or 500,
                started,
                logging.ERROR if (status or 500) >= 500 else logging.INFO,
            )

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = request_id_from(scope)
        close_code: int | None = None
        accepted = False

        async def send_with_id(message: Message) -> None:
            nonlocal close_code, accepted
            if message["type"] == "websocket.accept":
                accepted = True
                headers = list(message.get("headers", ()))
                headers.append((_HEADER_KEY, request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            elif message["type"] == "websocket.close" and close_code is None:
                close_code = int(message.get("code", 1000))
            await send(message)

        async def receive_noting_close() -> Message:
            nonlocal close_code
            message = await receive()
            if message["type"] == "websocket.disconnect" and close_code is None:
                close_code = int(message.get("code", 1005))
            return message

        started = time.perf_counter()
        with request_context(request_id):
            try:
                await self.app(scope, receive_noting_close, send_with_id)
            except Exception:
                self._line(
                    scope,
                    None,
                    started,
                    logging.ERROR,
                    exc_info=True,
                    websocket=True,
                    accepted=accepted,
                    close_code=close_code,
                )
                raise
            self._line(
                scope,
                None,
                started,
                logging.INFO,
                websocket=True,
                accepted=accepted,
                close_code=close_code,
            )

    @staticmethod
    async def _internal_error(request_id: str, send: Send) -> None:
        body = b'{"detail":"internal error; quote request id %s"}' % request_id.encode("latin-1")
        await send(
            {
                "type": "http.response.start",
                "status": 500,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    def _line(
        scope: Scope,
        status: int | None,
        started: float,
        level: int,
        *,
        exc_info: bool = False,
        **more: Any,
    ) -> None:
        if not log.isEnabledFor(level):
            return
        fields: dict[str, Any] = {
            "method": scope.get("method", "GET"),
            "route": route_of(scope),
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        }
        if status is not None:
            fields["status"] = status
        fields.update(more)
        if more.get("websocket"):
            message = f"websocket {fields['route']} closed {more.get('close_code')}"
        else:
            message = f"{fields['method']} {fields['route']} {status}"
        log.log(level, message, extra=fields, exc_info=exc_info)


def install(api: FastAPI) -> None:
    api.add_middleware(RequestLog)


__all__ = ["HEADER", "RequestLog", "install", "request_id_from"]
