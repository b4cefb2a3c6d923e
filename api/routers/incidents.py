"""Incidents: the operator reports and dispatches, the assigned van's crew works it."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from rescue.api.deps import (
    AnyRoleDep,
    AppDep,
    CrewDep,
    DeskDep,
    IdempotencyHeader,
    OperatorDep,
)
from rescue.api.replies import idempotency_key, respond
from rescue.api.responses import SIGNED_IN, answers
from rescue.api.schemas import (
    Accept,
    Cancel,
    Complete,
    Decline,
    Diagnose,
    Dispatch,
    IncidentReported,
    NoBody,
    ReportIncident,
    Resolve,
    dumped,
)
from rescue.domain.vocabulary import IncidentStatus, Role
from rescue.services.application import Principal, RescueApp

router = APIRouter(prefix="/api/incidents", tags=["incidents"])


@router.post(
    "",
    status_code=201,
    response_model=IncidentReported,
    responses=answers(*SIGNED_IN, 403, 409, 422),
)
def report_incident(
    body: ReportIncident,
    request: Request,
    app: AppDep,
    operator: OperatorDep,
    key: IdempotencyHeader = None,
) -> JSONResponse:
    """Records a breakdown call and answers with the nearest capable vans (operator)."""
    data = dumped(body)
    idem = idempotency_key(operator, key, request.url.path, data)
    return respond(app.report_incident(data, operator.actor, idem))


@router.get("", responses=answers(*SIGNED_IN, 403, 422))
def list_incidents(
    app: AppDep,
    _: DeskDep,
    status: Annotated[IncidentStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    """Lists incidents, newest first, optionally of one status (operator, auditor)."""
    app.follower.catch_up()
    return app.view.incidents_with(status.value if status else None, limit)


@router.get("/{incident_id}", responses=answers(*SIGNED_IN, 403, 404))
def get_incident(incident_id: str, app: AppDep, principal: AnyRoleDep) -> dict[str, Any]:
    """Shows an incident as it stands now (operator, auditor, or the crew of its van)."""
    if principal.role == Role.CREW:
        incident = app.incident(incident_id)
        if incident.van_id != principal.van_id:
            raise HTTPException(403, "this incident is not with your van")
    elif principal.role not in (Role.OPERATOR, Role.AUDITOR):
        raise HTTPException(403, "this needs the operator, auditor or crew role")
    return app.incident_details(incident_id, with_caller=True)


@router.get("/{incident_id}/history", responses=answers(*SIGNED_IN, 403, 404, 422))
def incident_history(
    incident_id: str,
    app: AppDep,
    _: DeskDep,
    as_of: Annotated[datetime | None, Query(description="ISO-8601 moment, with offset")] = None,
) -> dict[str, Any]:
    """Every event of an incident (time, actor, data) and its state at `as_of` (desk roles)."""
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
    return app.history(incident_id, as_of, with_caller=True)


@router.post("/{incident_id}/dispatch", responses=answers(*SIGNED_IN, 403, 404, 409, 422))
def dispatch(
    incident_id: str,
    body: Dispatch,
    request: Request,
    app: AppDep,
    operator: OperatorDep,
    key: IdempotencyHeader = None,
) -> JSONResponse:
    """Offers the job to the nearest capable van, or to a named van with a reason (operator)."""
    data = dumped(body)
    idem = idempotency_key(operator, key, request.url.path, data)
    return respond(app.dispatch(incident_id, operator.actor, body.van_id, body.reason, idem))


def _step(
    app: RescueApp,
    incident_id: str,
    action: str,
    body: BaseModel,
    principal: Principal,
    request: Request,
    key: str | None,
) -> JSONResponse:
    data = dumped(body)
    idem = idempotency_key(principal, key, request.url.path, data)
    return respond(app.step(incident_id, action, data, principal, idem))


def _step_route(
    action: str, model: type[BaseModel], doc: str, who: Any
) -> Callable[..., JSONResponse]:
    """A route for one step; a step without fields also accepts an empty request body."""

    def handler(
        incident_id: str,
        request: Request,
        app: RescueApp,
        principal: Principal,
        key: str | None = None,
        body: BaseModel | None = None,
    ) -> JSONResponse:
        return _step(app, incident_id, action, body or model(), principal, request, key)

    body_param = inspect.Parameter(
        "body",
        inspect.Parameter.KEYWORD_ONLY,
        annotation=model | None if model is NoBody else model,
        default=None if model is NoBody else inspect.Parameter.empty,
    )
    handler.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("incident_id", inspect.Parameter.KEYWORD_ONLY, annotation=str),
            inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request),
            inspect.Parameter("app", inspect.Parameter.KEYWORD_ONLY, annotation=AppDep),
            inspect.Parameter("principal", inspect.Parameter.KEYWORD_ONLY, annotation=who),
            inspect.Parameter(
                "key", inspect.Parameter.KEYWORD_ONLY, annotation=IdempotencyHeader, default=None
            ),
            body_param,
        ]
    )
    handler.__doc__ = doc
    handler.__name__ = action
    return handler


_CREW_STEPS: list[tuple[str, type[BaseModel], str]] = [
    ("accept", Accept, "Accepts the offered job with an ETA in minutes (crew of the offered van)."),
    (
        "decline",
        Decline,
        "Declines the offer with a reason; the next nearest van is offered (crew).",
    ),
    ("depart", NoBody, "The van sets off to the scene (crew of the assigned van)."),
    ("arrive", NoBody, "The van is on scene (crew of the assigned van)."),
    (
        "diagnose",
        Diagnose,
        "Records cause, parts and warranty findings (crew of the assigned van).",
    ),
    ("resolve", Resolve, "Repaired on site, or towed to a station (crew of the assigned van)."),
    (
        "complete",
        Complete,
        "The job is done, with the customer's sign-off (crew of the assigned van).",
    ),
]
_OPERATOR_STEPS: list[tuple[str, type[BaseModel], str]] = [
    ("cancel", Cancel, "Cancels an open incident with a reason; its van is freed (operator)."),
    ("close", NoBody, "Closes a completed incident (operator)."),
]

for _steps, _who in ((_CREW_STEPS, CrewDep), (_OPERATOR_STEPS, OperatorDep)):
    for _action, _model, _doc in _steps:
        router.add_api_route(
            f"/{{incident_id}}/{_action}",
            _step_route(_action, _model, _doc, _who),
            methods=["POST"],
            summary=_doc.split(" (")[0],
            responses=answers(*SIGNED_IN, 403, 404, 409, 422),
        )
