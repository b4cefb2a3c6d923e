"""Domain errors to HTTP: each error class has one status, the body always {"detail": ...}."""

from __future__ import annotations

from eventsourcing.persistence import OperationalError
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from rescue.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    RescueError,
    Unauthenticated,
    Unavailable,
)
from rescue.privacy import MissingKey

# What FastAPI answers (400) for a body it cannot decode, e.g. JSON that is not UTF-8.
UNPARSEABLE_BODY = "There was an error parsing the body"


# Seconds a client should wait before retrying a request the store could not take.
RETRY_AFTER_S = 1


def install(app: FastAPI) -> None:
    @app.exception_handler(RescueError)
    async def rescue_error(_: Request, error: RescueError) -> JSONResponse:
        if isinstance(error, NotFound):
            return JSONResponse({"detail": str(error)}, status_code=404)
        if isinstance(error, Conflict):
            return JSONResponse(
                {"detail": str(error), "state": jsonable_encoder(error.state)}, status_code=409
            )
        if isinstance(error, Invalid):
            return JSONResponse(
                {"detail": [{"loc": ["body", error.field], "msg": str(error), "type": "invalid"}]},
                status_code=422,
            )
        if isinstance(error, Unauthenticated):
            return JSONResponse(
                {"detail": str(error)}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
        if isinstance(error, Forbidden):
            return JSONResponse({"detail": str(error)}, status_code=403)
        if isinstance(error, Unavailable):
            return JSONResponse(
                {"detail": str(error)}, status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)}
            )
        return JSONResponse({"detail": str(error)}, status_code=400)

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
