"""Positions from standard tracker apps (Traccar Client, OsmAnd and devices speaking its protocol).

The app is set up with this server's URL (`/osmand`, or the bare server URL:
Traccar's default path `/`) and, as its device identifier, a crew token of
the van it rides in (`rescue users add tracker-V7 --role crew --van V7`). The
forms and units it may send are those of `rescue.api.tracker_protocol`.

A tracker resends its oldest report until it gets a 2xx, so every report from
a known van's token is acknowledged with 200, also one the server will not use
as a fix: that one is recorded on the van (`Van.FixRefused`, with the reason)
and counted in `/metrics`, and the device's queue moves on. Only a request
that is not from a van's crew token is answered with a 4xx (401 no or unknown
token, 403 a token of another role), and a store that is away with 503 (the
device retries later, which is what it should do). `alarm=sos` raises
`Van.SosRaised`, which reaches the console and the van's tablet as a change.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from rescue.api.deps import AppDep, WriterDep, principal_of
from rescue.api.metrics import Metrics
from rescue.api.responses import json_answers
from rescue.api.tracker_protocol import (
    SPEED_UNITS,
    Limits,
    NotReports,
    TrackerReport,
    read_fields,
    read_json,
)
from rescue.bootstrap import Rescue
from rescue.domain.access import Principal
from rescue.domain.errors import Unauthenticated
from rescue.domain.vocabulary import Role

router = APIRouter(tags=["trackers"])

# The device's crew token is checked here, not by the bearer scheme: no 429 (trackers
# send at their own pace, one report at a time).
ANSWERS = json_answers(401, 403, 404, 422, 503)
FIELDS: list[tuple[str, str, dict[str, Any]]] = [
    ("id", "a crew token of the van (the device identifier)", {"type": "string"}),
    ("deviceid", "the same as id", {"type": "string"}),
    ("lat", "latitude, degrees", {"type": "number"}),
    ("lon", "longitude, degrees", {"type": "number"}),
    ("location", "lat,lon instead of lat and lon", {"type": "string"}),
    ("timestamp", "Unix seconds or milliseconds, or ISO-8601 (no zone: UTC)", {"type": "string"}),
    ("speed", "knots, unless speed_unit says otherwise; -1 unknown", {"type": "number"}),
    ("speed_unit", "the unit of speed", {"type": "string", "enum": sorted(SPEED_UNITS)}),
    ("bearing", "degrees from north; -1 unknown", {"type": "number"}),
    ("heading", "the same as bearing", {"type": "number"}),
    ("accuracy", "metres; negative: the device marks the fix invalid", {"type": "number"}),
    ("altitude", "metres", {"type": "number"}),
    ("batt", "battery, percent; -1 unknown", {"type": "number"}),
    ("charge", "true while charging", {"type": "boolean"}),
    ("valid", "false: the device marks the fix invalid", {"type": "boolean"}),
    ("alarm", "sos: the crew's SOS button", {"type": "string"}),
    ("event", "the app's name for why it reported", {"type": "string"}),
]
# Read by hand, so declared here for the OpenAPI document. None is required of the query
# string: a POST may send them in its body instead.
PARAMETERS = [
    {"name": name, "in": "query", "required": False, "description": text, "schema": schema}
    for name, text, schema in FIELDS
]
OSMAND_OBJECT: dict[str, Any] = {
    "type": "object",
    "properties": {name: schema for name, _, schema in FIELDS},
}
_NUMBER = {"type": "number"}
TRACCAR_JSON: dict[str, Any] = {
    "type": "object",
    "properties": {
        "device_id": {"type": "string", "description": "a crew token of the van"},
        "location": {
            "type": "object",
            "properties": {
                "timestamp": {"type": "string", "format": "date-time"},
                "coords": {
                    "type": "object",
                    "properties": {
                        "latitude": _NUMBER,
                        "longitude": _NUMBER,
                        "speed": {"type": "number", "description": "m/s; -1 unknown"},
                        "heading": {"type": "number", "description": "-1 unknown"},
                        "accuracy": _NUMBER,
                        "altitude": _NUMBER,
                    },
                },
                "battery": {
                    "type": "object",
                    "properties": {
                        "level": {"type": "number", "description": "0 to 1; -1 unknown"},
                        "is_charging": {"type": "boolean"},
                    },
                },
                "event": {"type": "string"},
                "alarm": {"type": "string", "description": "sos: the crew's SOS button"},
            },
        },
    },
}
BODY: dict[str, Any] = {
    "required": False,
    "content": {
        "application/x-www-form-urlencoded": {"schema": OSMAND_OBJECT},
        "application/json": {
            "schema": {
                "anyOf": [TRACCAR_JSON, {"type": "array", "items": OSMAND_OBJECT, "minItems": 1}]
            }
        },
    },
}
GET_ROUTE: dict[str, Any] = {
    "response_class": PlainTextResponse,
    "responses": ANSWERS,
    "openapi_extra": {"parameters": PARAMETERS},
}
POST_ROUTE: dict[str, Any] = {
    **GET_ROUTE,
    "openapi_extra": {"parameters": PARAMETERS, "requestBody": BODY},
}


# One operation per method and path, so each has its own id in the OpenAPI document;
# `/osmand/` too, since POST clients do not follow a redirect.
@router.get("/osmand", operation_id="osmand_get", **GET_ROUTE)
@router.get("/osmand/", include_in_schema=False, **GET_ROUTE)
@router.post("/osmand", operation_id="osmand_post", **POST_ROUTE)
@router.post("/osmand/", include_in_schema=False, **POST_ROUTE)
@router.post("/", operation_id="tracker_post", **POST_ROUTE)
async def osmand(request: Request, app: AppDep, writer: WriterDep) -> PlainTextResponse:
    """Records a tracker app's report (OsmAnd fields or Traccar Client JSON; id = crew token)."""
    reports = await _reports(request, app)
    principal = await _device_principal(app, reports, request.query_params.get("id"))
    van_id = principal.van_id or ""
    fixes = [r.fix for r in reports if r.fix is not None]
    if fixes:
        # A van unknown to the store comes back as NotFound, answered 404 like any other.
        await writer.stored(van_id, fixes, None)
    metrics: Metrics = request.app.state.metrics
    for report in reports:
        if report.refusal is None and report.alarm != "sos":
            continue
        await run_in_threadpool(_record_the_rest, app, van_id, principal, report)
        if report.refusal is not None:
            metrics.tracker_refused.labels(report.refusal[0]).inc()
        if report.alarm == "sos":
            metrics.tracker_sos.inc()
    return PlainTextResponse("OK")


async def _reports(request: Request, app: Rescue) -> list[TrackerReport]:
    """The request's reports: from a JSON body, or from the query and a form body."""
    limits = Limits(
        now=app.clock(),
        future_s=app.settings.position_future_tolerance_s,
        max_age_s=app.settings.tracker_max_fix_age_s,
    )
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fields: dict[str, Any] = dict(request.query_params)
    if request.method == "POST" and kind == "application/json":
        try:
            body = json.loads(await request.body())
            return read_json(body, limits)
        except (ValueError, RecursionError) as error:  # not JSON, or no reports in it
            reason = str(error) if isinstance(error, NotReports) else "the body is not JSON"
            raise HTTPException(422, [_body_error(reason)]) from None
    if request.method == "POST" and kind in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        try:
            form = await request.form()
        except Exception as error:  # python-multipart's parse errors have no common base
            raise HTTPException(422, [_body_error(f"the form does not read: {error}")]) from None
        fields.update({k: v for k, v in form.items() if isinstance(v, str)})
    elif request.method == "POST" and not fields:
        # Some devices send the fields as the body without saying so (Traccar reads
        # the body as a query string when the URL has none).
        text = (await request.body()).decode("latin-1")
        fields = dict(parse_qsl(text, keep_blank_values=True))
    return [read_fields(fields, limits)]


def _body_error(msg: str) -> dict[str, Any]:
    return {"loc": ["body"], "msg": msg, "type": "value_error"}


async def _device_principal(
    app: Rescue, reports: list[TrackerReport], query_id: str | None
) -> Principal:
    devices = {r.device for r in reports if r.device}
    if len(devices) > 1:
        raise HTTPException(403, "all the reports of one request must come from one device")
    device = next(iter(devices), None) or query_id
    if not device:
        raise HTTPException(401, "id (the device's crew token) is required")
    try:
        principal = await principal_of(app, device)
    except Unauthenticated as error:
        raise HTTPException(401, f"device id: {error}") from None
    if principal.role != Role.CREW or principal.van_id is None:
        raise HTTPException(403, "the device id must be a crew token of a van")
    return principal


def _record_the_rest(app: Rescue, van_id: str, principal: Principal, report: TrackerReport) -> None:
    """Records a report's refusal and its SOS, if any, on the van."""
    if report.refusal is not None:
        kind, reason = report.refusal
        app.trackers.refuse_fix(van_id, kind, reason, report.received, principal.actor)
    if report.alarm == "sos":
        fix = report.fix
        at = (fix.lat, fix.lon) if fix is not None else None
        app.trackers.raise_sos(van_id, report.alarm, at, report.recorded_at, principal.actor)
