"""Follow-up calls after a repair, and complaints: the operator's worklist and the outcomes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from rescue.api.deps import AppDep, DeskDep, IdempotencyHeader, OperatorDep
from rescue.api.replies import run_command
from rescue.api.responses import SIGNED_IN, answers

router = APIRouter(prefix="/api", tags=["follow-ups"], responses=answers(*SIGNED_IN, 403))
COMMAND = answers(404, 409, 422)

Text = Annotated[str, Field(min_length=1, max_length=2000)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RecordCall(Strict):
    """One follow-up call: not reached, or reached with a score from 1 to 5."""

    reached: bool
    satisfaction: int | None = Field(None, ge=1, le=5)
    comments: Text | None = None
    complaint: bool = Field(False, description="the customer makes an explicit complaint")
    complaint_text: Text | None = None

    @model_validator(mode="after")
    def _reached_has_score(self) -> RecordCall:
        if self.reached and self.satisfaction is None:
            raise ValueError("satisfaction: a reached customer gives a score from 1 to 5")
        if not self.reached and (self.satisfaction is not None or self.complaint):
            raise ValueError("satisfaction, complaint: only a reached customer gives them")
        return self


class OpenComplaint(Strict):
    text: Text


class AnswerComplaint(Strict):
    text: Text


class CloseComplaint(Strict):
    resolution: Text | None = None


def _aware(moment: datetime | None, name: str) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        raise HTTPException(
            422,
            [
                {
                    "loc": ["query", name],
                    "msg": "include an offset such as Z or +08:00",
                    "type": "value_error",
                }
            ],
        )
    return moment


@router.get("/followups", responses=answers(422))
def worklist(
    app: AppDep,
    _: OperatorDep,
    due_before: Annotated[datetime | None, Query(description="ISO-8601; default now")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    """The follow-up calls due, longest waiting first, with caller and reminders (operator)."""
    return app.aftersales.worklist(_aware(due_before, "due_before"), limit)


@router.get("/incidents/{incident_id}/followup", responses=answers(404))
def get_followup(incident_id: str, app: AppDep, _: DeskDep) -> dict[str, Any]:
    """An incident's follow-up call: when due, attempts, outcome (operator, auditor)."""
    return app.aftersales.followup(incident_id, with_caller=True)


@router.post("/incidents/{incident_id}/followup/calls", responses=COMMAND)
def record_call(
    incident_id: str,
    body: RecordCall,
    request: Request,
    app: AppDep,
    operator: OperatorDep,
    key: IdempotencyHeader = None,
) -> JSONResponse:
    """Records a call; a score of 2 or less, or a complaint, opens a complaint (operator)."""
    return run_command(
        request,
        operator,
        key,
        body,
        lambda data, idem: app.aftersales.record_call(incident_id, data, operator.actor, idem),
    )


@router.get("/complaints", responses=answers(422))
def list_complaints(
    app: AppDep,
    _: DeskDep,
    status: Annotated[Literal["open", "answered"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    """Complaints not yet closed, the earliest due first (operator, auditor)."""
    return app.aftersales.complaints(status, limit)


@router.get("/incidents/{incident_id}/complaint", responses=answers(404))
def get_complaint(incident_id: str, app: AppDep, _: DeskDep) -> dict[str, Any]:
    """An incident's complaint and its life (operator, auditor)."""
    return app.aftersales.complaint(incident_id)


@router.post("/incidents/{incident_id}/complaint", status_code=201, responses=COMMAND)
def open_complaint(
    incident_id: str,
    body: OpenComplaint,
    request: Request,
    app: AppDep,
    operator: OperatorDep,
    key: IdempotencyHeader = None,
) -> JSONResponse:
    """Records a complaint the customer made directly (the complaint hotline) (operator)."""
    return run_command(
        request,
        operator,
        key,
        body,
        lambda _, idem: app.aftersales.open_complaint(incident_id, body.text, operator.actor, idem),
    )


@router.post("/incidents/{incident_id}/complaint/answer", responses=COMMAND)
def answer_complaint(
    incident_id: str,
    body: AnswerComplaint,
    request: Request,
    app: AppDep,
    operator: OperatorDep,
    key: IdempotencyHeader = None,
) -> JSONResponse:
    """Records the answer given to the customer (operator)."""
    return run_command(
        request,
        operator,
        key,
        body,
        lambda _, idem: app.aftersales.answer_complaint(
            incident_id, body.text, operator.actor, idem
        ),
    )


@router.post("/incidents/{incident_id}/complaint/close", responses=COMMAND)
def close_complaint(
    incident_id: str,
    request: Request,
    app: AppDep,
    operator: OperatorDep,
    key: IdempotencyHeader = None,
    body: CloseComplaint | None = None,
) -> JSONResponse:
    """Closes an answered complaint (operator)."""
    asked = body or CloseComplaint()
    return run_command(
        request,
        operator,
        key,
        asked,
        lambda _, idem: app.aftersales.close_complaint(
            incident_id, asked.resolution, operator.actor, idem
        ),
    )
