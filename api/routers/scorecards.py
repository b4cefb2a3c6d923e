"""Scorecards per station or per van over a period, and the incidents behind each figure."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, HTTPException, Query, Request

from rescue.api.deps import roles
from rescue.api.period import From, To, checked_period
from rescue.api.responses import SIGNED_IN, answers
from rescue.domain.access import Principal
from rescue.domain.vocabulary import Role
from rescue.projections.models import ReadModels
from rescue.projections.reading import computed
from rescue.projections.runner import ProjectionRunner
from rescue.projections.scorecards import FIGURES, By, behind, labels_of, scorecards

router = APIRouter(
    prefix="/api/scorecards", tags=["scorecards"], responses=answers(*SIGNED_IN, 403, 422)
)
ReaderDep = Annotated[Principal, roles(Role.OPERATOR, Role.AUDITOR, Role.ADMIN)]
T = TypeVar("T")
SCORECARD_MODELS = ("scores", "stations", "vans")
ByQuery = Annotated[By, Query(description="one row per station or per van")]


def _computed(request: Request, compute: Callable[[ReadModels], T]) -> tuple[int, T]:
    """`compute` over the read models the scorecards read, at one log position."""
    runner: ProjectionRunner = request.app.state.projections
    return computed(runner, request.app.state.rescue.settings.db, SCORECARD_MODELS, compute)


def _epoch(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()


def _period(start: datetime | None, end: datetime | None) -> dict[str, str | None]:
    return {
        "from": start.isoformat() if start else None,
        "to": end.isoformat() if end else None,
    }


@router.get("")
def get_scorecards(
    request: Request,
    _: ReaderDep,
    by: ByQuery,
    start: From = None,
    end: To = None,
) -> dict[str, Any]:
    """Offers made, accepted, declined (with reasons) and expired; median and p90 of
    answer-to-dispatch, dispatch-to-accept and dispatch-to-arrival; arrivals within the
    promised ETA; repaired on site; follow-up satisfaction and complaints; per station or
    van, for the calls reported in the period (operator, auditor, admin)."""
    checked_period(start, end)
    position, rows = _computed(
        request,
        lambda models: scorecards(
            models.docs["scores"],
            by,
            _epoch(start),
            _epoch(end),
            labels_of(by, models.docs["stations"].values(), models.docs["vans"].values()),
        ),
    )
    return {"by": by, **_period(start, end), "log_position": position, "rows": rows}


@router.get("/incidents")
def get_incidents_behind(
    request: Request,
    _: ReaderDep,
    by: ByQuery,
    key: Annotated[str, Query(min_length=1, max_length=200, description="station or van id")],
    figure: Annotated[str, Query(description=f"one of: {', '.join(FIGURES)}")],
    start: From = None,
    end: To = None,
) -> dict[str, Any]:
    """The incidents behind one figure of one station's or van's scorecard, each with its
    value (a duration, an offer's outcome or reason, whether on time...)."""
    checked_period(start, end)
    if figure not in FIGURES:
        raise HTTPException(
            422,
            [
                {
                    "loc": ["query", "figure"],
                    "msg": f"not a figure: {figure}; use one of {', '.join(FIGURES)}",
                    "type": "value_error",
                }
            ],
        )
    position, found = _computed(
        request,
        lambda models: behind(models.docs["scores"], by, key, figure, _epoch(start), _epoch(end)),
    )
    return {
        "by": by,
        "key": key,
        "figure": figure,
        **_period(start, end),
        "log_position": position,
        "incidents": found,
    }
