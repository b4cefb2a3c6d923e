"""Warranty claims: the decision and form built from the log, and the claim's recorded life."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from rescue.api.deps import AdminDep, AppDep, DeskDep, IdempotencyHeader, roles
from rescue.api.replies import run_command
from rescue.api.responses import SIGNED_IN, answers
from rescue.domain.access import Principal
from rescue.domain.vocabulary import Role

# Every claim route names an incident and needs a role: these answers hold for all of them.
router = APIRouter(
    prefix="/api/incidents/{incident_id}/claim",
    tags=["claims"],
    responses=answers(*SIGNED_IN, 403, 404),
)
COMMAND = answers(409, 422)

SubmitterDep = Annotated[Principal, roles(Role.OPERATOR, Role.ADMIN)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]
Reference = Annotated[str, Field(min_length=1, max_length=200)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DecideApproval(Strict):
    """The after-sales section's decision on a claim whose cause is hard to establish."""

    approved: bool
    evidence: Text = Field(description="the owner's maintenance evidence the decision rests on")


class AnswerClaim(Strict):
    """The maker's answer to a submitted claim; a rejection gives its reason."""

    approved: bool
    reason: Text | None = None
    reference: Reference | None = None

    @model_validator(mode="after")
    def _rejection_has_reason(self) -> AnswerClaim:
        if not self.approved and not self.reason:
            raise ValueError("reason: a rejected claim records why")
        return self


class SettleClaim(Strict):
    amount: Decimal = Field(ge=0, max_digits=12, decimal_places=2, description="yuan")
    reference: Reference | None = None


@router.get("")
def get_claim(incident_id: str, app: AppDep, _: DeskDep) -> dict[str, Any]:
    """The warranty decision and the claim form, each field citing its event (operator, auditor).

    `evidence` lists the job's photos with their hashes, and asks for a photo of
    each replaced part that none shows.
    """
    claim = app.aftersales.claim(incident_id)
    claim["evidence"] = app.photos.evidence(app.queries.incident(incident_id))
    return claim


@router.post("/approval", responses=COMMAND)
def decide_approval(
    incident_id: str,
    body: DecideApproval,
    request: Request,
    app: AppDep,
    admin: AdminDep,
    key: IdempotencyHeader = None,
) -> JSONResponse:
    """Settles a needs_approval claim citing maintenance evidence (admin: after-sales)."""
    return run_command(
        request,
        admin,
        key,
        body,
        lambda _, idem: app.aftersales.decide_approval(
            incident_id, body.approved, body.evidence, admin.actor, idem
        ),
    )


@router.post("/submit", responses=COMMAND)
def submit_claim(
    incident_id: str,
    request: Request,
    app: AppDep,
    principal: SubmitterDep,
    key: IdempotencyHeader = None,
) -> JSONResponse:
    """Submits the drafted claim to the maker; needs the customer's sign-off (operator, admin)."""
    return run_command(
        request,
        principal,
        key,
        None,
        lambda _, idem: app.aftersales.submit_claim(incident_id, principal.actor, idem),
    )


@router.post("/answer", responses=COMMAND)
def answer_claim(
    incident_id: str,
    body: AnswerClaim,
    request: Request,
    app: AppDep,
    admin: AdminDep,
    key: IdempotencyHeader = None,
) -> JSONResponse:
    """Records the maker's answer: approved, or rejected with a reason (admin)."""
    return run_command(
        request,
        admin,
        key,
        body,
        lambda _, idem: app.aftersales.answer_claim(
            incident_id, body.approved, body.reason, body.reference, admin.actor, idem
        ),
    )


@router.post("/settle", responses=COMMAND)
def settle_claim(
    incident_id: str,
    body: SettleClaim,
    request: Request,
    app: AppDep,
    admin: AdminDep,
    key: IdempotencyHeader = None,
) -> JSONResponse:
    """Records the settlement (索赔结算) of an approved claim (admin)."""
    return run_command(
        request,
        admin,
        key,
        body,
        lambda _, idem: app.aftersales.settle_claim(
            incident_id, body.amount, body.reference, admin.actor, idem
        ),
    )
