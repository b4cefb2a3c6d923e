"""Callers' personal data: erasure on request (admin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import AfterValidator, Field

from rescue.api.deps import AdminDep, AppDep
from rescue.api.responses import SIGNED_IN, answers
from rescue.api.schemas import Strict
from rescue.domain.validation import check_phone

router = APIRouter(prefix="/api/privacy", tags=["privacy"])


class EraseCaller(Strict):
    phone: Annotated[str, Field(min_length=5, max_length=32), AfterValidator(check_phone)]
    reason: Annotated[str, Field(max_length=500)] = ""


@router.post("/erase", responses=answers(*SIGNED_IN, 403, 422))
def erase_caller(body: EraseCaller, app: AppDep, admin: AdminDep) -> dict[str, Any]:
    """Erases a caller's name and phone everywhere by destroying their key (admin).

    The log keeps its events and its hash chain; an `Erasure.Erased` event
    records who erased, when and why, without the data. Erasing a phone
    that has nothing left to erase records the request all the same.
    """
    return app.erasure.erase(body.phone, admin.actor, body.reason)
