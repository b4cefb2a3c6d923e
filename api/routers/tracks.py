"""A van's recorded trail over a period, as GeoJSON, for the maps of the console and audit page."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from rescue.api.deps import AppDep, DeskDep
from rescue.api.period import checked_period
from rescue.api.responses import SIGNED_IN, answers
from rescue.services.track_replay import MAX_PERIOD

router = APIRouter(prefix="/api/vans", tags=["tracks"])


@router.get("/{van_id}/track", responses=answers(*SIGNED_IN, 403, 404, 422))
def van_track(
    van_id: str,
    app: AppDep,
    _: DeskDep,
    start: Annotated[
        datetime, Query(alias="from", description="ISO-8601 moment with offset (inclusive)")
    ],
    end: Annotated[datetime, Query(alias="to", description="ISO-8601 moment with offset")],
    max_points: Annotated[
        int, Query(ge=2, le=10_000, description="fixes drawn at most; more are thinned")
    ] = 1000,
    stop_min: Annotated[
        float, Query(ge=0.5, le=240, description="minutes in one spot that make a stop")
    ] = 5,
) -> dict[str, Any]:
    """The van's GPS fixes recorded in the period as a GeoJSON FeatureCollection: the trail
    (LineString), each fix drawn (Point, with time, recorded speed and heading; evenly
    thinned to `max_points` for long periods) and the stops of at least `stop_min` minutes
    (Point, with from, to and duration); at most a week (operator, auditor)."""
    checked_period(start, end)
    if end - start > MAX_PERIOD:
        raise HTTPException(
            422,
            [
                {
                    "loc": ["query", "to"],
                    "msg": f"ask for at most {MAX_PERIOD.days} days at once",
                    "type": "value_error",
                }
            ],
        )
    return app.trails.trail(van_id, start, end, max_points=max_points, min_stop_s=stop_min * 60)
