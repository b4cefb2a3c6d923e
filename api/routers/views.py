"""The persisted read models: board, van map, station load and service KPIs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request

from rescue.api.deps import DeskDep
from rescue.api.responses import SIGNED_IN, answers
from rescue.projections.runner import ProjectionRunner

router = APIRouter(prefix="/api/views", tags=["read models"], responses=answers(*SIGNED_IN, 403))


def _docs(request: Request, model: str) -> tuple[int, list[dict[str, Any]]]:
    runner: ProjectionRunner = request.app.state.projections
    with runner.lock:
        if runner.models is None:
            raise HTTPException(503, "read models are loading; retry", headers={"Retry-After": "1"})
        docs = [
            {k: v for k, v in doc.items() if not k.startswith("_")}
            for doc in runner.models.docs[model].values()
        ]
        return runner.models.position, docs


@router.get("/board")
def board(request: Request, _: DeskDep) -> dict[str, Any]:
    """Open incidents with status, priority, van and the times their timers run from."""
    position, docs = _docs(request, "board")
    return {"log_position": position, "incidents": docs}


@router.get("/vans", responses=answers(422))
def vans(
    request: Request,
    _: DeskDep,
    stale_after_s: Annotated[float, Query(gt=0, le=86400)] = 300,
) -> dict[str, Any]:
    """Every van's latest position and status; `stale` when its last report is too old."""
    position, docs = _docs(request, "vans")
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
    position, docs = _docs(request, "station_load")
    stations = _docs(request, "stations")[1]
    names = {s["station_id"]: s for s in stations}
    for station_id, doc in zip(_keys(request, "station_load"), docs, strict=True):
        doc["station_id"] = station_id
        doc["name"] = names.get(station_id, {}).get("name")
    return {"log_position": position, "stations": docs}


def _keys(request: Request, model: str) -> list[str]:
    runner: ProjectionRunner = request.app.state.projections
    with runner.lock:
        return list(runner.models.docs[model]) if runner.models else []


@router.get("/kpis")
def kpis(request: Request, _: DeskDep) -> dict[str, Any]:
    """Service KPIs per station and hour: averages in seconds and the repaired-on-site rate."""
    position, docs = _docs(request, "kpis")
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
