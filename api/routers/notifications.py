"""The text messages sent to an incident's customer, as the outbox recorded them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from rescue.api.deps import AppDep, DeskDep
from rescue.api.responses import SIGNED_IN, answers
from rescue.services.notifications import NotificationQueries

router = APIRouter(
    prefix="/api/incidents/{incident_id}/notifications",
    tags=["notifications"],
    responses=answers(*SIGNED_IN, 403, 404),
)


@router.get("")
def incident_notifications(incident_id: str, app: AppDep, _: DeskDep) -> list[dict[str, Any]]:
    """Each message: `channel`, `template`, `status` (pending, sent, rejected), `attempts`, `at`."""
    return NotificationQueries(app.runner, app.links).for_incident(incident_id)
