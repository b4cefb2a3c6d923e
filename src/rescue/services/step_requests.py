"""What each step of an incident asks for: the fields of its request, bounded and checked.

REST bodies and crew-socket frames are both read with these models, so a step
accepts the same input whichever way it arrives.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rescue.domain.vocabulary import Outcome

ShortText = Annotated[str, Field(min_length=1, max_length=200)]
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
Finding = Literal[
    "missed_maintenance",
    "modified",
    "accident",
    "manual_maintenance",
    "wear_consumable",
    "misuse",
    "wrong_fluid",
    "non_original_part",
    "delayed_report",
    "environmental",
    "unauthorized_repair",
    "appearance_ageing",
    "odometer_altered",
    "indirect_loss",
    "long_storage",
    "undetermined",
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Accept(Strict):
    eta_min: float = Field(gt=0, le=24 * 60, allow_inf_nan=False)


class Decline(Strict):
    reason: ShortText


class NoBody(Strict):
    pass


class Part(Strict):
    part_no: Annotated[str, Field(min_length=1, max_length=40)]
    name: ShortText
    system: Literal["engine", "other"]
    qty: int = Field(ge=1, le=1000)
    original: bool
    from_van: bool = False  # taken from the van's own stock


class Diagnose(Strict):
    cause: Annotated[str, Field(min_length=1, max_length=2000)]
    parts: Annotated[list[Part], Field(max_length=100)] = []
    findings: Annotated[list[Finding], Field(max_length=16)] = []


class Resolve(Strict):
    outcome: Outcome
    tow_station_id: Id | None = None

    @model_validator(mode="after")
    def _tow_needs_a_destination(self) -> Resolve:
        if self.outcome is Outcome.TOWED and self.tow_station_id is None:
            raise ValueError("tow_station_id: say which station the vehicle is towed to")
        return self


class Complete(Strict):
    customer_signed: bool
    satisfaction: int | None = Field(None, ge=1, le=5)


class Cancel(Strict):
    reason: ShortText
