"""Domain errors to HTTP: each error class has one status, the body always {"detail": ...}."""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import OperationalError
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from rescue.domain.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    RescueError,
    Unauthenticated,
    Unavailable,
)
from rescue.store.privacy import MissingKey

# What FastAPI answers (400) for a body it cannot decode, e.g. JSON that is not UTF-8.
UNPARSEABLE_BODY = "There was an error parsing the body"
# How Starlette's multipart parser (a photo upload) begins its 400s for a body it cannot read.
UNREADABLE_MULTIPART = (
    "Invalid multipart data",
    "Missing boundary in multipart",
    "The Content-Disposition header",
    "Too many fields",
    "Too many files",
    "Field exceeded maximum size",
    "Part exceeded maximum size",
)


# Seconds a client should wait before retrying a request the store could not take.
RETRY_AFTER_S = 1


# Each domain error's status, most specific first; any other RescueError is a 400.
STATUS_OF: tuple[tuple[type[RescueError], int], ...] = (
    (NotFound, 404),
    (Conflict, 409),
    (Invalid, 422),
    (Unauthenticated, 401),
    (Forbidden, 403),
    (Unavailable, 503),
)


def status_of(error: RescueError) -> int:
    """The HTTP status of a domain error, for REST answers and socket acks alike."""
    return next((status for kind, status in STATUS_OF if isinstance(error, kind)), 400)


def install(app: FastAPI) -> None:
    @app.exception_handler(RescueError)
    async def rescue_error(_: Request, error: RescueError) -> JSONResponse:
        status = status_of(error)
        body: dict[str, Any] = {"detail": str(error)}
        headers: dict[str, str] = {}
        if isinstance(error, Conflict):
            body["state"] = jsonable_encoder(error.state)
        elif isinstance(error, Invalid):
            body["detail"] = [{"loc": ["body", error.field], "msg": str(error), "type": "invalid"}]
        elif isinstance(error, Unauthenticated):
            headers["WWW-Authenticate"] = "Bearer"
        elif isinstance(error, Unavailable):
            headers["Retry-After"] = str(RETRY_AFTER_S)
        return JSONResponse(body, status_code=status, headers=headers or None)

    @app.exception_handler(OperationalError)
    async def store_unavailable(_: Request, error: OperationalError) -> JSONResponse:
        # A read that met a locked or unreachable store (commands map it themselves).
        return JSONResponse(
            {"detail": f"the store is unavailable: {error}"},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )

    @app.exception_handler(MissingKey)
    async def missing_key(_: Request, error: MissingKey) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=503)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        # A body that cannot be decoded is invalid input like any other: 422 naming the
        # body, as for malformed JSON, not a 400 that no route declares.
        if error.status_code == 400 and str(error.detail).startswith(UNREADABLE_MULTIPART):
            return JSONResponse(
                {
                    "detail": [
                        {
                            "loc": ["body"],
                            "msg": f"the multipart body cannot be read: {error.detail}",
                            "type": "multipart_invalid",
                        }
                    ]
                },
                status_code=422,
            )
        if error.status_code == 400 and error.detail == UNPARSEABLE_BODY:
            return JSONResponse(
                {
                    "detail": [
                        {
                            "loc": ["body"],
                            "msg": "the body must be UTF-8 JSON",
                            "type": "json_invalid",
                        }
                    ]
                },
                status_code=422,
            )
        return await http_exception_handler(request, error)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
        # The default handler echoes the whole input back; bounded messages are enough.
        details = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in error.errors()
        ]
        return JSONResponse({"detail": jsonable_encoder(details)}, status_code=422)
