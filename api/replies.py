"""Helpers shared by the routers: idempotency keys from headers, replies to responses."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from rescue.domain.idempotency import IdempotencyKey, Reply
from rescue.services.application import Principal


def idempotency_key(
    principal: Principal, header: str | None, path: str, body: Any
) -> IdempotencyKey | None:
    if header is None or not header.strip():
        return None
    return IdempotencyKey.for_request(principal.name, header.strip(), "POST", path, body)


def respond(reply: Reply) -> JSONResponse:
    return JSONResponse(reply.body, status_code=reply.status_code)
