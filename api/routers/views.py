"""The persisted read models: board, van map, station load and service KPIs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from rescue.api.deps import DeskDep
from rescue.api.responses import SIGNED_IN, answers
from rescue.projections.models import ReadModels
from rescue.projections.reading import computed
from rescue.projections.runner import ProjectionRunner

router = APIRouter(prefix="/api/views", tags=["read models"], responses=answers(*SIGNED_IN, 403))


def _docs(request: Request, *models: str) -> tuple[int, list[list[tuple[str, dict[str, Any]]]]]:
    """Each named model's (key, document) pairs at one log position, and that position."""
    runner: ProjectionRunner = request.app.state.projections

    def pairs(read: ReadModels) -> list[list[tuple[str, dict[str, Any]]]]:
        return [
            [
                (key, {k: v for k, v in doc.items() if not k.startswith("_")})
                for key, doc in read.docs[model].items()
            ]
            for model in models
        ]

    return computed(runner, request.app.state.rescue.settings.db, models, pairs)


@router.get("/board")
def board(request: Request, _: DeskDep) -> dict[str, Any]:
    """Open incidents with status, priority, van and the times their timers run from."""
    position, (pairs,) = _docs(request, "board")
    docs = [doc for _, doc in pairs]
    return {"log_position": position, "incidents": docs}


@router.get("/vans", responses=answers(422))
def vans(
    request: Request,
    _: DeskDep,
    stale_after_s: Annotated[float, Query(gt=0, le=86400)] = 300,
) -> dict[str, Any]:
    """Every van's latest position and status; `stale` when its last report is too old."""
    position, (pairs,) = _docs(request, "vans")
    docs = [doc for _, doc in pairs]
    now = datetime.now(UTC)
    for doc in docs:
        at = doc.get("position_at")
        doc["stale"] = at is None or (now - datetime.fromisoformat(at)).total_seconds() > (
            stale_after_s
        )
    return {"log_position": position, "vans": docs}


@router.get("/stations")
def station_load(request: Request, _: DeskDep) -> dict[str, Any]:
    """Per station: vans available, offered, busy, off duty, and queued calls in its area."""
    position, (loads, stations) = _docs(request, "station_load", "stations")
    names = {s["station_id"]: s for _, s in stations}
    docs = []
    for station_id, doc in loads:
        docs.append(doc)
        doc["station_id"] = station_id
        doc["name"] = names.get(station_id, {}).get("name")
    return {"log_position": position, "stations": docs}


@router.get("/kpis")
def kpis(request: Request, _: DeskDep) -> dict[str, Any]:
    """Service KPIs per station and hour: averages in seconds and the repaired-on-site rate."""
    position, (pairs,) = _docs(request, "kpis")
    docs = [doc for _, doc in pairs]
    rows = []
    for doc in docs:
        row: dict[str, Any] = {
            "station_id": doc["station_id"],
            "hour": doc["hour"],
            "completed": doc["completed"],
            "repaired_on_site_rate": round(doc.get("repaired_on_site", 0) / doc["completed"], 3),
        }
        for label in (
            "answer_to_dispatch_s",
            "dispatch_to_accept_s",
            "dispatch_to_arrival_s",
            "on_scene_s",
        ):
            n = doc.get(f"{label}_n", 0)
            row[label] = round(doc[f"{label}_sum"] / n, 1) if n else None
        rows.append(row)
    rows.sort(key=lambda r: (r["hour"], str(r["station_id"])))
    return {"log_position": position, "kpis": rows}
