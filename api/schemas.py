"""Request and response bodies. Requests are named for what they ask, responses for what they show.

Every list and string is bounded: a client cannot make the server hold or
store an unbounded body.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from rescue.domain.validation import (
    check_latitude,
    check_longitude,
    check_not_future_date,
    check_phone,
    check_vin,
)
from rescue.domain.vocabulary import Capability, FaultCategory, Tier
from rescue.services.step_requests import Id, ShortText

Latitude = Annotated[float, Field(allow_inf_nan=False), AfterValidator(check_latitude)]
Longitude = Annotated[float, Field(allow_inf_nan=False), AfterValidator(check_longitude)]
LongText = Annotated[str, Field(max_length=2000)]
Capabilities = Annotated[list[Capability], Field(min_length=1, max_length=6)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- network ---------------------------------------------------------------------


class RegisterStation(Strict):
    station_id: Id | None = None
    name: ShortText
    tier: Tier
    lat: Latitude
    lon: Longitude
    capabilities: Annotated[list[Capability], Field(max_length=6)] = []
    radius_km: float = Field(gt=0, le=2000)


class RegisterVan(Strict):
    van_id: Id | None = None
    call_sign: ShortText
    station_id: Id
    capabilities: Capabilities


class ChangeShift(Strict):
    on_duty: bool


class ReportPosition(Strict):
    lat: Latitude
    lon: Longitude
    recorded_at: datetime
    speed_kmh: float | None = Field(None, ge=0, le=400, allow_inf_nan=False)
    heading: float | None = Field(None, ge=0, le=360, allow_inf_nan=False)
    accuracy_m: float | None = Field(None, ge=0, le=100_000, allow_inf_nan=False)


class PositionsAccepted(BaseModel):
    accepted: int


# -- incidents -------------------------------------------------------------------


class Caller(Strict):
    name: ShortText
    phone: Annotated[str, Field(min_length=5, max_length=32), AfterValidator(check_phone)]


class Vehicle(Strict):
    vin: Annotated[str, Field(min_length=1, max_length=32), AfterValidator(check_vin)]
    plate: Annotated[str, Field(max_length=16)] | None = None
    model_series: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")]
    odometer_km: int = Field(ge=0, le=5_000_000)
    sold_on: Annotated[date, AfterValidator(check_not_future_date)]


class Location(Strict):
    lat: Latitude
    lon: Longitude
    description: LongText | None = None


class Fault(Strict):
    category: FaultCategory
    description: LongText | None = None


class Safety(Strict):
    """Facts the operator records that raise urgency (see rescue.domain.priority)."""

    on_expressway: bool = False
    at_night: bool = False
    passengers: int = Field(0, ge=0, le=60)
    injury: bool = False
    vulnerable: bool = False


class ReportIncident(Strict):
    caller: Caller
    vehicle: Vehicle
    location: Location
    fault: Fault
    safety: Safety = Safety()


class Recommendation(BaseModel):
    van_id: str
    station_id: str
    distance_km: float
    eta_min: float
    origin: str
    eta_source: str = "default"  # "default" (km x circuity / speed) or the fitted cell used
    eta_band: list[float] | None = None  # [low, high] minutes: the cell's 10th-90th percentile
    carries_parts: bool = False
    likely_parts: list[str] = []
    maintenance_due: bool = False


class IncidentReported(BaseModel):
    incident_id: str
    status: str
    priority: int
    priority_reasons: list[str]
    capability: str
    recommendations: list[Recommendation]


class Dispatch(Strict):
    van_id: Id | None = None
    reason: LongText | None = None


def dumped(model: BaseModel) -> dict[str, Any]:
    """A request body as plain JSON values (dates as ISO strings, enums as strings)."""
    return model.model_dump(mode="json")
