"""The record as evidence: the board at a past moment, incident exports, the chain check."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from rescue.api.deps import AppDep, DeskDep, roles
from rescue.api.responses import SIGNED_IN, answers
from rescue.domain.access import Principal
from rescue.domain.vocabulary import Role
from rescue.projections.timetravel import board_as_of
from rescue.services.audit import export_incident, verify
from rescue.services.photos import verify_photos

router = APIRouter(prefix="/api", tags=["audit"], responses=answers(*SIGNED_IN, 403))

ExporterDep = Annotated[Principal, roles(Role.OPERATOR, Role.AUDITOR, Role.ADMIN)]
VerifierDep = Annotated[Principal, roles(Role.AUDITOR, Role.ADMIN)]


@router.get("/board", responses=answers(422))
def board(
    app: AppDep,
    _: DeskDep,
    as_of: Annotated[
        datetime | None, Query(description="ISO-8601 moment with offset; default now")
    ] = None,
    stations: Annotated[bool, Query(description="include the stations")] = False,
) -> dict[str, Any]:
    """Vans (position, free or busy) and open incidents at `as_of` (operator, auditor)."""
    if as_of is not None and as_of.tzinfo is None:
        raise HTTPException(
            422,
            [
                {
                    "loc": ["query", "as_of"],
                    "msg": "include an offset such as Z or +08:00",
                    "type": "value_error",
                }
            ],
        )
    return board_as_of(app.store, as_of or app.clock(), stations=stations)


@router.get("/incidents/{incident_id}/export", responses=answers(404, 422))
def export(
    incident_id: str,
    app: AppDep,
    principal: ExporterDep,
    masked: Annotated[
        bool, Query(description="mask the caller even for roles that may see")
    ] = False,
) -> dict[str, Any]:
    """One incident's record with the hashes to check it offline (`rescue audit verify-export`).

    Operators and auditors see the caller's name and phone unless they ask for
    a masked export; for admins they are always masked.
    """
    return export_incident(app.queries, incident_id, principal.role, principal.name, masked=masked)


@router.get("/audit/verify")
def verify_chain(app: AppDep, _: VerifierDep) -> dict[str, Any]:
    """Recomputes the hash chain over the whole log; names the first bad event (auditor, admin).

    `photos` says whether every recorded photo's bytes still hash to their recorded value.
    """
    chain = verify(app.store.recorder).as_dict()  # type: ignore[arg-type]
    return {**chain, "photos": verify_photos(app.store.recorder, app.photos.storage).as_dict()}
