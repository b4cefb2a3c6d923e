"""The customer's record at intake: earlier incidents of a phone or a VIN, and the warranty.

A look-up is a POST so the caller's phone travels in the body: never in a
URL, so never in an access log, a proxy's log or the browser's history.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from rescue.api.deps import AppDep, DeskDep
from rescue.api.responses import SIGNED_IN, answers

router = APIRouter(prefix="/api/customers", tags=["customers"])


class CustomerLookup(BaseModel):
    phone: Annotated[str | None, Field(max_length=32, description="the caller's phone")] = None
    vin: Annotated[str | None, Field(min_length=6, max_length=17, description="the VIN")] = None
    odometer_km: Annotated[
        int | None, Field(ge=0, le=2_000_000, description="today's reading, if the caller said")
    ] = None


@router.post("/lookup", responses=answers(*SIGNED_IN, 403, 422))
def lookup(body: CustomerLookup, app: AppDep, _: DeskDep) -> dict[str, Any]:
    """Earlier incidents of this phone or VIN, newest first, with the warranty standing
    (operator, auditor).

    Each incident: date, fault, place, status, outcome, whether a complaint is
    open, and the follow-up score. `warranty`: months and km left of each
    scope of the vehicle's series by the policy table (null for an unknown
    series); `odometer_km` replaces the reading last reported.
    """
    app.follower.catch_up()
    return app.customers.lookup(phone=body.phone, vin=body.vin, odometer_km=body.odometer_km)
