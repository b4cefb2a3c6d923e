"""What every command route shares: the idempotency key of a request, and results as responses.

A service answers a command with a `Result` (its body, and whether it made a
new record); the status code is chosen here, so HTTP stays in `api/`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeGuard

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from rescue.domain.access import Principal
from rescue.domain.idempotency import IdempotencyKey, Result

Command = Callable[[dict[str, Any], IdempotencyKey | None], Result]


def names_a_key(key: str | None) -> TypeGuard[str]:
    """Whether a request's Idempotency-Key (or frame's `key`) is one: blank is none."""
    return key is not None and bool(key.strip())


def idempotency_key(
    principal: Principal, key: str | None, path: str, body: Any
) -> IdempotencyKey | None:
    """The key of a POST to `path` with `body`, from a header or a socket frame's `key`."""
    if not names_a_key(key):
        return None
    return IdempotencyKey.for_request(principal.name, key.strip(), "POST", path, body)


def status_of_result(result: Result) -> int:
    return 201 if result.created else 200


def respond(result: Result, status_code: int | None = None) -> JSONResponse:
    return JSONResponse(result.body, status_code=status_code or status_of_result(result))


def run_command(
    request: Request,
    principal: Principal,
    key: str | None,
    body: BaseModel | None,
    command: Command,
) -> JSONResponse:
    """A command route's work: the body as JSON values, the caller's idempotency key for
    this path and body, and the command's result as the response."""
    data = body.model_dump(mode="json") if body is not None else {}
    return respond(command(data, idempotency_key(principal, key, request.url.path, data)))
