"""Spare parts: what each van carries, and the station staff loading and unloading it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from rescue.api.deps import (
    AdminDep,
    AppDep,
    IdempotencyHeader,
    require_own_van,
    roles,
)
from rescue.api.period import From, To, checked_period
from rescue.api.replies import run_command
from rescue.api.responses import SIGNED_IN, answers
from rescue.domain.access import Principal
from rescue.domain.vocabulary import Role
from rescue.services.step_requests import ShortText

router = APIRouter(prefix="/api", tags=["parts"])

PartNo = Annotated[str, Field(min_length=1, max_length=40)]


class ChangeStock(BaseModel):
    """Parts loaded onto a van (`delta > 0`) or taken off it (`delta < 0`)."""

    model_config = ConfigDict(extra="forbid")

    part_no: PartNo
    name: ShortText | None = None
    delta: int = Field(ge=-10_000, le=10_000)
    reason: ShortText
    kind: Literal["restocked", "written_off", "returned"] | None = Field(
        None,
        description="restocked for delta > 0; written_off (default) or returned for delta < 0",
    )


StockReaderDep = Annotated[Principal, roles(Role.OPERATOR, Role.ADMIN, Role.CREW)]
PlanDep = Annotated[Principal, roles(Role.OPERATOR, Role.AUDITOR, Role.ADMIN)]


class StockLine(BaseModel):
    part_no: str
    name: str
    qty: int


@router.get("/vans/{van_id}/stock", responses=answers(*SIGNED_IN, 403, 404))
def van_stock(van_id: str, app: AppDep, principal: StockReaderDep) -> list[StockLine]:
    """The parts on a van now (operator, admin, the crew of that van)."""
    require_own_van(principal, van_id)
    return [StockLine(**line) for line in app.parts.stock(van_id)]


@router.post("/vans/{van_id}/stock", responses=answers(*SIGNED_IN, 403, 404, 409, 422))
def change_stock(
    van_id: str,
    body: ChangeStock,
    request: Request,
    app: AppDep,
    admin: AdminDep,
    key: IdempotencyHeader = None,
) -> JSONResponse:
    """Loads parts onto a van or takes them off: restocked, written off or returned (admin).
    Taking off more than the van holds is refused with 409 and the stock as it is."""
    return run_command(
        request,
        admin,
        key,
        body,
        lambda data, idem: app.parts.adjust(
            van_id,
            data["part_no"],
            data["name"],
            data["delta"],
            data["reason"],
            data["kind"],
            admin.actor,
            idem,
        ),
    )


# -- the plan ---------------------------------------------------------------------------------


class AbcLine(BaseModel):
    part_no: str
    name: str
    class_: str = Field(alias="class")
    qty: int
    consumption_value: float
    share: float
    unit_cost: float | None


@router.get("/parts/abc", responses=answers(*SIGNED_IN, 403, 422), response_model_by_alias=True)
def parts_abc(app: AppDep, _: PlanDep, start: From = None, end: To = None) -> list[AbcLine]:
    """ABC classes of the parts fitted from vans over the period, by consumption value
    (operator, auditor, admin)."""
    return [AbcLine(**row) for row in app.planner.abc(*checked_period(start, end))]


@router.get("/parts/replenishment", responses=answers(*SIGNED_IN, 403, 422))
def parts_replenishment(
    app: AppDep,
    _: PlanDep,
    station_id: Annotated[str | None, Query(max_length=64)] = None,
) -> list[dict[str, Any]]:
    """The (T, S) plan per station and part: stock on hand on the station's vans, forecast
    demand over the review period and lead time, order-up-to level S and the order quantity,
    with the forecast's error on the last held-out week (operator, auditor, admin)."""
    return app.planner.replenishment(station_id)


# -- fault statistics ---------------------------------------------------------------------------


@router.get("/stats/faults", responses=answers(*SIGNED_IN, 403, 422))
def fault_statistics(
    app: AppDep,
    _: PlanDep,
    by: Annotated[Literal["model_series", "category", "part_no"], Query()] = "model_series",
    start: From = None,
    end: To = None,
) -> dict[str, Any]:
    """Faults per model series, fault category or fitted part number and month, with the
    vehicles' mean months and km in service and the share of settled repairs that went to
    the maker under warranty (operator, auditor, admin)."""
    return app.fault_stats.by(by, *checked_period(start, end))


# -- the vans' own maintenance ---------------------------------------------------------------


class RecordService(BaseModel):
    """A van's own service done now; optionally a new interval."""

    model_config = ConfigDict(extra="forbid")

    note: ShortText
    interval_km: float | None = Field(None, gt=0, le=1_000_000)


@router.get("/maintenance/vans", responses=answers(*SIGNED_IN, 403, 422))
def vans_due(
    app: AppDep,
    _: PlanDep,
    within_km: Annotated[float | None, Query(ge=0, le=1_000_000)] = None,
) -> list[dict[str, Any]]:
    """Vans due for their own service within `within_km` (default from settings) or past due,
    with the distance driven by their GPS tracks (operator, auditor, admin)."""
    limit = app.settings.service_due_within_km if within_km is None else within_km
    return app.upkeep.due_list(limit)


@router.get("/vans/{van_id}/maintenance", responses=answers(*SIGNED_IN, 403, 404))
def van_maintenance(van_id: str, app: AppDep, _: PlanDep) -> dict[str, Any]:
    """One van's distance driven, last service and what is left of its interval."""
    app.runner.van(van_id)
    return app.upkeep.status(van_id)


@router.post("/vans/{van_id}/maintenance", responses=answers(*SIGNED_IN, 403, 404, 422))
def record_van_service(
    van_id: str,
    body: RecordService,
    request: Request,
    app: AppDep,
    admin: AdminDep,
    key: IdempotencyHeader = None,
) -> JSONResponse:
    """Records that the van was serviced now (admin): its interval starts again."""
    return run_command(
        request,
        admin,
        key,
        body,
        lambda data, idem: app.upkeep.record_service(
            van_id, data["note"], data["interval_km"], admin.actor, idem
        ),
    )
