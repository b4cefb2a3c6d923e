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

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from rescue.api.deps import AppDep, WriterDep
from rescue.positions import PositionReport
from rescue.validation import check_latitude, check_longitude, check_recorded_at
from rescue.vocabulary import Role

router = APIRouter(tags=["trackers"])
KNOTS_TO_KMH = 1.852


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


@router.api_route("/osmand", methods=["GET", "POST"], response_class=PlainTextResponse)
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
    principal = await run_in_threadpool(app.authenticate, device)
    if principal is None:
        raise HTTPException(401, "device id not recognised or revoked")
    if principal.role != Role.CREW or principal.van_id is None:
        raise HTTPException(403, "the device id must be a crew token of a van")
    lat = _number(params, "lat", required=True)
    lon = _number(params, "lon", required=True)
    assert lat is not None and lon is not None
    speed = _number(params, "speed")
    try:
        report = PositionReport(
            lat=check_latitude(lat),
            lon=check_longitude(lon),
            recorded_at=check_recorded_at(
                _moment(params.get("timestamp")),
                now=app.clock(),
                tolerance_s=app.settings.position_future_tolerance_s,
            ),
            speed_kmh=None if speed is None else round(speed * KNOTS_TO_KMH, 2),
            heading=_number(params, "bearing"),
            accuracy_m=_number(params, "accuracy"),
        )
    except ValueError as error:
        raise HTTPException(422, str(error)) from None
    reply = await asyncio.wrap_future(writer.enqueue(principal.van_id, [report], None))
    if reply.status_code >= 400:
        raise HTTPException(reply.status_code, reply.body.get("detail"))
    return PlainTextResponse("OK")
