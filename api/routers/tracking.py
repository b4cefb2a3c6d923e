"""The customer's tracking link: the operator's view of it, and the customer's page behind it.

`/t/{code}` and its status and event stream need no sign-in: the code is the
customer's key. They are limited per client address, so guessing codes is as
slow as it is hopeless (192 bits), and an unknown code and a malformed one get
the same 404.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from rescue.api.deps import AppDep, IdempotencyHeader, OperatorDep
from rescue.api.pages.routes import MEDIA_TYPES, NO_STALE, STATIC
from rescue.api.ratelimit import RateLimiter, retry_after
from rescue.api.replies import idempotency_key, respond
from rescue.api.responses import RETRY_AFTER, SIGNED_IN, Problem, answers
from rescue.bootstrap import Rescue
from rescue.domain.errors import NotFound
from rescue.services.tracking_links import LinkExpired

router = APIRouter(tags=["tracking"])

# How often a customer's event stream looks for a change (the board is in memory),
# and how often it says it is still there when nothing changed.
STREAM_TICK_S = 1.0
STREAM_HEARTBEAT_S = 15.0
# A stream ends after this and the browser reconnects: no connection lives for ever.
STREAM_LIFETIME_S = 30 * 60.0

PUBLIC_ANSWERS: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "no such tracking link"},
    410: {"model": Problem, "description": "the link expired an hour after the job ended"},
    429: {
        "model": Problem,
        "description": "this address made too many requests; retry after Retry-After",
        "headers": RETRY_AFTER,
    },
    503: answers(503)[503],
}


# -- the operator's side ------------------------------------------------------------------


@router.get("/api/incidents/{incident_id}/tracking", responses=answers(*SIGNED_IN, 403, 404))
def tracking_link(incident_id: str, app: AppDep, _: OperatorDep) -> dict[str, Any]:
    """The customer's tracking link of an incident: {url, expires_at} (operator).

    Issued with the first offer of a van; `expires_at` is null while the
    incident is open, then an hour after it completes or is cancelled.
    """
    return app.links.link_for(incident_id)


@router.post(
    "/api/incidents/{incident_id}/tracking/resend",
    status_code=202,
    responses=answers(*SIGNED_IN, 403, 404, 422),
)
def resend_tracking_link(
    incident_id: str,
    request: Request,
    app: AppDep,
    operator: OperatorDep,
    key: IdempotencyHeader = None,
) -> JSONResponse:
    """Records a request to text the link to the customer again (operator); the outbox sends it."""
    idem = idempotency_key(operator, key, request.url.path, {})
    result = app.links.request_resend(incident_id, operator.actor, idem)
    return respond(result, 202)


# -- the customer's side --------------------------------------------------------------------


def _limit(request: Request) -> None:
    limiter: RateLimiter = request.app.state.tracking_limiter
    client = request.client.host if request.client else "unknown"
    wait = limiter.wait_needed(client)
    if wait:
        raise HTTPException(
            429,
            f"too many requests; retry in {retry_after(wait)} s",
            headers={"Retry-After": retry_after(wait)},
        )


def _open(app: Rescue, code: str) -> str:
    try:
        return app.links.open(code)
    except LinkExpired as error:
        raise HTTPException(410, str(error)) from None


def _status(app: Rescue, code: str) -> dict[str, Any]:
    return app.tracking_status.status(_open(app, code))


@router.get("/t/{code}", include_in_schema=False)
def customer_page(code: str, request: Request, app: AppDep) -> FileResponse:
    _limit(request)
    try:
        _open(app, code)
    except NotFound:
        return FileResponse(
            STATIC / "track-gone.html", status_code=404, media_type=MEDIA_TYPES[".html"]
        )
    except HTTPException as error:
        if error.status_code != 410:
            raise
        return FileResponse(
            STATIC / "track-gone.html", status_code=410, media_type=MEDIA_TYPES[".html"]
        )
    return FileResponse(STATIC / "track.html", media_type=MEDIA_TYPES[".html"], headers=NO_STALE)


@router.get("/t/{code}/status", responses=PUBLIC_ANSWERS)
def customer_status(code: str, request: Request, app: AppDep) -> dict[str, Any]:
    """Where the customer's help is: {status, call_sign, eta_min, van, updated_at} (no sign-in).

    `status` is one of finding_van, on_the_way, arrived, towing, completed,
    cancelled; `van` is {lat, lon, at} while the van is on its way or on
    scene, else null; `eta_min` counts down from the van's latest fix. Also
    `site`, `tow_to` (a station's name) and `advice` (keys of what to do while
    waiting). Never the caller's name or phone, nor the VIN or plate.
    """
    _limit(request)
    return _status(app, code)


@router.get(
    "/t/{code}/events",
    responses={
        **PUBLIC_ANSWERS,
        200: {"content": {"text/event-stream": {}}, "description": "server-sent events"},
    },
)
async def customer_events(code: str, request: Request, app: AppDep) -> StreamingResponse:
    """The same status as server-sent events, one `status` event per change (no sign-in).

    The stream ends with an `expired` event when the link expires, and after
    half an hour (the browser reconnects).
    """
    _limit(request)
    first = await run_in_threadpool(_status, app, code)
    return StreamingResponse(
        _stream(request, app, code, first),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _stream(
    request: Request, app: Rescue, code: str, first: dict[str, Any]
) -> AsyncIterator[str]:
    last = first
    yield _frame("status", first)
    loop = asyncio.get_running_loop()
    started = quiet_since = loop.time()
    while loop.time() - started < STREAM_LIFETIME_S:
        await asyncio.sleep(STREAM_TICK_S)
        if await request.is_disconnected():
            return
        try:
            current = await run_in_threadpool(_status, app, code)
        except HTTPException as error:
            if error.status_code == 410:
                yield _frame("expired", {"detail": error.detail})
                return
            raise
        if current != last:
            last = current
            quiet_since = loop.time()
            yield _frame("status", current)
        elif loop.time() - quiet_since >= STREAM_HEARTBEAT_S:
            quiet_since = loop.time()
            yield ": still here\n\n"


def _frame(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
