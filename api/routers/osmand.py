"""Positions from standard tracker apps (Traccar Client, OsmAnd) in the OsmAnd protocol.

The app is set up with this server's URL and, as its device identifier, a
crew token of the van it rides in (`rescue users add tracker-V7 --role crew
--van V7`): the `id` parameter names the van. Parameters come in the query
string or a form body: `id, lat, lon, timestamp` (Unix seconds or
milliseconds, or ISO-8601), and optionally `speed` (knots, as the protocol
has it), `bearing` and `accuracy` (metres). Positions go through the same
validation and group commit as `POST /api/vans/{id}/positions`.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from rescue.api.deps import AppDep, WriterDep
from rescue.api.position_input import BadPositions, read_positions
from rescue.api.responses import json_answers
from rescue.domain.errors import Unauthenticated
from rescue.domain.vocabulary import Role

router = APIRouter(tags=["trackers"])
KNOTS_TO_KMH = 1.852
# The protocol's names for the fields of a position report.
QUERY_NAMES = {
    "recorded_at": "timestamp",
    "speed_kmh": "speed",
    "heading": "bearing",
    "accuracy_m": "accuracy",
}


def _number(params: dict[str, str], name: str, *, required: bool = False) -> float | None:
    raw = params.get(name)
    if raw is None or raw == "":
        if required:
            raise HTTPException(
                422, [{"loc": ["query", name], "msg": f"{name} is required", "type": "missing"}]
            )
        return None
    try:
        value = float(raw)
    except ValueError:
        raise HTTPException(
            422,
            [{"loc": ["query", name], "msg": f"{name} must be a number", "type": "value_error"}],
        ) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise HTTPException(
            422, [{"loc": ["query", name], "msg": f"{name} must be finite", "type": "value_error"}]
        )
    return value


def _in_query(error: dict[str, Any]) -> dict[str, Any]:
    """A report's field error, named as the protocol names the parameter."""
    field = str(error["loc"][-1]) if len(error["loc"]) > 1 else ""
    name = QUERY_NAMES.get(field, field)
    return {**error, "loc": ["query", name] if name else ["query"]}


def _moment(raw: str | None) -> datetime:
    if raw is None or raw == "":
        return datetime.now(UTC)
    try:
        number = float(raw)
    except ValueError:
        try:
            return datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise HTTPException(
                422,
                [
                    {
                        "loc": ["query", "timestamp"],
                        "msg": "timestamp must be Unix time or ISO-8601",
                        "type": "value_error",
                    }
                ],
            ) from None
    if number > 1e11:  # milliseconds, as some apps send
        number /= 1000
    try:
        return datetime.fromtimestamp(number, UTC)
    except (OverflowError, OSError, ValueError):
        raise HTTPException(
            422,
            [
                {
                    "loc": ["query", "timestamp"],
                    "msg": "timestamp out of range",
                    "type": "value_error",
                }
            ],
        ) from None


# The device's crew token is checked here, not by the bearer scheme: no 429 (trackers
# send at their own pace, one position at a time).
ANSWERS = json_answers(401, 403, 404, 422, 503)
# Read by hand, so declared here for the OpenAPI document. None is required of the query
# string: a POST may send them as a form instead (without `id`: 401, without `lat`: 422).
PARAMETERS = [
    {"name": name, "in": "query", "required": False, "description": text, "schema": schema}
    for name, text, schema in [
        ("id", "a crew token of the van (the device identifier)", {"type": "string"}),
        ("lat", "latitude, degrees (required)", {"type": "number"}),
        ("lon", "longitude, degrees (required)", {"type": "number"}),
        ("timestamp", "Unix seconds or milliseconds, or ISO-8601", {"type": "string"}),
        ("speed", "knots", {"type": "number"}),
        ("bearing", "degrees from north", {"type": "number"}),
        ("accuracy", "metres", {"type": "number"}),
    ]
]


ROUTE: dict[str, Any] = {
    "response_class": PlainTextResponse,
    "responses": ANSWERS,
    "openapi_extra": {"parameters": PARAMETERS},
}


# Two operations (one per method), so each has its own id in the OpenAPI document.
@router.get("/osmand", operation_id="osmand_get", **ROUTE)
@router.post("/osmand", operation_id="osmand_post", **ROUTE)
async def osmand(request: Request, app: AppDep, writer: WriterDep) -> PlainTextResponse:
    """Records one position sent by a tracker app in the OsmAnd protocol (id = crew token)."""
    params: dict[str, str] = dict(request.query_params)
    if request.method == "POST" and "application/x-www-form-urlencoded" in request.headers.get(
        "content-type", ""
    ):
        form = await request.form()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    device = params.get("id") or params.get("deviceid")
    if not device:
        raise HTTPException(401, "id (the device's crew token) is required")
    try:
        principal = await run_in_threadpool(app.access.principal_for, device)
    except Unauthenticated as error:
        raise HTTPException(401, f"device id: {error}") from None
    if principal.role != Role.CREW or principal.van_id is None:
        raise HTTPException(403, "the device id must be a crew token of a van")
    lat = _number(params, "lat", required=True)
    lon = _number(params, "lon", required=True)
    assert lat is not None and lon is not None
    speed = _number(params, "speed")
    raw = {
        "lat": lat,
        "lon": lon,
        "recorded_at": _moment(params.get("timestamp")),
        "speed_kmh": None if speed is None else round(speed * KNOTS_TO_KMH, 2),
        "heading": _number(params, "bearing"),
        "accuracy_m": _number(params, "accuracy"),
    }
    try:
        # The REST route's checks: coordinates, ranges, a time neither future nor ancient.
        reports, _ = read_positions(
            raw,
            now=app.clock(),
            tolerance_s=app.settings.position_future_tolerance_s,
            limit=1,
        )
    except BadPositions as error:
        raise HTTPException(422, [_in_query(d) for d in error.details]) from None
    # A van unknown to the store comes back as NotFound, answered 404 like any other.
    await asyncio.wrap_future(writer.enqueue(principal.van_id, reports, None))
    return PlainTextResponse("OK")
