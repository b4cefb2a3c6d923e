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
from rescue.api.replies import run_command
from rescue.api.responses import SIGNED_IN, answers
from rescue.api.schemas import Dispatch, IncidentReported, ReportIncident
from rescue.bootstrap import Rescue
from rescue.domain.access import Principal
from rescue.domain.vocabulary import IncidentStatus, Role
from rescue.services.step_requests import NoBody
from rescue.services.steps import STEPS, Step

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
    return run_command(
        request,
        operator,
        key,
        body,
        lambda data, idem: app.dispatch.report_incident(data, operator.actor, idem),
    )


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
        incident = app.queries.incident(incident_id)
        if incident.van_id != principal.van_id:
            raise HTTPException(403, "this incident is not with your van")
    elif principal.role not in (Role.OPERATOR, Role.AUDITOR):
        raise HTTPException(403, "this needs the operator, auditor or crew role")
    return app.queries.incident_details(incident_id, with_caller=True)


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
    return app.queries.history(incident_id, as_of, with_caller=True)


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
    return run_command(
        request,
        operator,
        key,
        body,
        lambda _, idem: app.dispatch.dispatch(
            incident_id, operator.actor, body.van_id, body.reason, idem
        ),
    )


def _step_route(step: Step, who: Any) -> Callable[..., JSONResponse]:
    """A route for one step; a step without fields also accepts an empty request body."""
    model = step.request

    def handler(
        incident_id: str,
        request: Request,
        app: Rescue,
        principal: Principal,
        key: str | None = None,
        body: BaseModel | None = None,
    ) -> JSONResponse:
        return run_command(
            request,
            principal,
            key,
            body or model(),
            lambda data, idem: app.steps.take(incident_id, step.action, data, principal, idem),
        )

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
    handler.__doc__ = step.summary
    handler.__name__ = step.action
    return handler


# Who may take a step, as the route's dependency: a role check answered 403.
_ROLE_DEPS: dict[Role, Any] = {Role.CREW: CrewDep, Role.OPERATOR: OperatorDep}

for _step in STEPS.values():
    router.add_api_route(
        f"/{{incident_id}}/{_step.action}",
        _step_route(_step, _ROLE_DEPS[_step.role]),
        methods=["POST"],
        summary=_step.summary.split(" (")[0],
        responses=answers(*SIGNED_IN, 403, 404, 409, 422),
    )
