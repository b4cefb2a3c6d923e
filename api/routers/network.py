"""Stations and vans: the admin loads the network; crews and operators set shifts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from rescue.api.deps import (
    AdminDep,
    AnyRoleDep,
    AppDep,
    DeskDep,
    IdempotencyHeader,
    require_own_van,
)
from rescue.api.position_input import BODY_SCHEMA, BadPositions, read_positions
from rescue.api.positions_lane import REFUSED
from rescue.api.replies import idempotency_key, respond, run_command
from rescue.api.responses import SIGNED_IN, answers
from rescue.api.schemas import ChangeShift, RegisterStation, RegisterVan
from rescue.api.store_reads import store_reads
from rescue.bootstrap import Rescue
from rescue.domain.errors import Invalid, RescueError
from rescue.domain.vocabulary import Role
from rescue.projections.changes import van_status
from rescue.services.positions import PositionWriter

router = APIRouter(prefix="/api", tags=["network"])


@router.post("/stations", status_code=201, responses=answers(*SIGNED_IN, 403, 409, 422))
def register_station(
    body: RegisterStation,
    request: Request,
    app: AppDep,
    admin: AdminDep,
    key: IdempotencyHeader = None,
) -> JSONResponse:
    """Registers a station of the network (admin)."""
    return run_command(
        request,
        admin,
        key,
        body,
        lambda data, idem: app.network.register_station(data, admin.actor, idem),
    )


@router.get("/stations", responses=answers(*SIGNED_IN))
def list_stations(app: AppDep, _: AnyRoleDep) -> list[dict[str, Any]]:
    """Lists the stations of the network."""
    return sorted(app.view.stations.values(), key=lambda s: s["station_id"])


@router.post("/vans", status_code=201, responses=answers(*SIGNED_IN, 403, 409, 422))
def register_van(
    body: RegisterVan,
    request: Request,
    app: AppDep,
    admin: AdminDep,
    key: IdempotencyHeader = None,
) -> JSONResponse:
    """Registers a van at a station with what it carries (admin)."""
    return run_command(
        request,
        admin,
        key,
        body,
        lambda data, idem: app.network.register_van(data, admin.actor, idem),
    )


@router.get("/vans", responses=answers(*SIGNED_IN))
def list_vans(app: AppDep, _: AnyRoleDep) -> list[dict[str, Any]]:
    """Lists vans with status and latest position."""
    with app.view.lock:
        vans = [dict(v) for v in app.view.vans.values()]
    return [{**v, "status": van_status(v)} for v in sorted(vans, key=lambda v: v["van_id"])]


@router.get("/vans/{van_id}", response_model=dict[str, Any], responses=answers(*SIGNED_IN, 404))
async def get_van(van_id: str, request: Request, app: AppDep, _: AnyRoleDep) -> JSONResponse:
    """Shows one van as stored."""
    van = await store_reads(request).run(app.network.van_as_stored, van_id)
    # Answered as it is: its fields are JSON already, and checking them against the
    # declared model again cost a tenth of the request.
    return JSONResponse(van)


@router.get("/vans/{van_id}/history", responses=answers(*SIGNED_IN, 403, 404))
def van_history(van_id: str, app: AppDep, _: DeskDep) -> dict[str, Any]:
    """Every event of the van: duty, offers, SOS alarms, tracker reports refused and why
    (operator, auditor)."""
    van = app.runner.van(van_id)
    return {"van_id": van_id, "events": app.queries.event_records(van.id, with_caller=False)}


@router.post("/vans/{van_id}/shift", responses=answers(*SIGNED_IN, 403, 404, 409, 422))
def change_shift(
    van_id: str,
    body: ChangeShift,
    request: Request,
    app: AppDep,
    principal: AnyRoleDep,
    key: IdempotencyHeader = None,
) -> JSONResponse:
    """Puts a van on or off duty (its crew, an operator or an admin)."""
    if principal.role not in (Role.CREW, Role.OPERATOR, Role.ADMIN):
        raise HTTPException(403, "this needs the crew, operator or admin role")
    require_own_van(principal, van_id)
    return run_command(
        request,
        principal,
        key,
        body,
        lambda _, idem: app.network.change_shift(van_id, body.on_duty, principal.actor, idem),
    )


@router.post(
    "/vans/{van_id}/positions",
    status_code=202,
    responses=answers(*SIGNED_IN, 403, 404, 422),
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": BODY_SCHEMA}}}
    },
)
async def report_positions(
    van_id: str,
    request: Request,
    principal: AnyRoleDep,
    key: IdempotencyHeader = None,
) -> JSONResponse:
    """Records GPS positions of a van (its crew): one report or a list; 202 once stored."""
    # The busiest route: the application and the writer are read off the request, not
    # solved as dependencies (each costs more than the lookup, on every fix).
    app: Rescue = request.app.state.rescue
    writer: PositionWriter = request.app.state.positions
    if principal.role != Role.CREW:
        raise HTTPException(403, "positions are reported by the van's crew")
    require_own_van(principal, van_id)
    try:
        raw = await request.json()
    except ValueError:
        raise HTTPException(
            422, [{"loc": ["body"], "msg": "the body must be JSON", "type": "json_invalid"}]
        ) from None
    try:
        checked, data = read_positions(
            raw,
            now=app.clock(),
            tolerance_s=app.settings.position_future_tolerance_s,
            limit=app.settings.max_positions_per_request,
        )
    except BadPositions as error:
        raise HTTPException(422, error.details) from None
    idem = idempotency_key(principal, key, request.url.path, data)
    try:
        refusal: RescueError | None = request.scope.get(REFUSED)
        if refusal is not None:
            raise refusal  # the lane's write of this very fix was refused
        result = await writer.stored(van_id, checked, idem)
    except Invalid as error:
        # The only input the writer checks against the store is the Idempotency-Key header.
        detail = [{"loc": ["header", error.field], "msg": str(error), "type": "invalid"}]
        raise HTTPException(422, detail) from None
    return respond(result, 202)


def positions_route() -> APIRoute:
    """The positions route, for the lane that takes its accepted fixes (api/positions_lane.py)."""
    return next(
        r for r in router.routes if isinstance(r, APIRoute) and r.endpoint is report_positions
    )


def van_read_route() -> APIRoute:
    """The route of one van, for the lane that answers its reads (api/van_read_lane.py)."""
    return next(r for r in router.routes if isinstance(r, APIRoute) and r.endpoint is get_van)
