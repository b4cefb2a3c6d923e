"""Webhooks (admin): other systems follow the log as signed CloudEvents."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from rescue.api.deps import AdminDep
from rescue.api.responses import SIGNED_IN, answers
from rescue.services.webhooks import WebhookService

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"], responses=answers(*SIGNED_IN, 403))


def get_webhooks(request: Request) -> WebhookService:
    service: WebhookService = request.app.state.webhooks
    return service


WebhooksDep = Annotated[WebhookService, Depends(get_webhooks)]


class Register(BaseModel):
    """A receiver and the event types it wants: `*`, `Incident.*` or `Incident.Completed`."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2000, description="http:// or https://")
    events: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(min_length=1)
    secret: str | None = Field(
        None, min_length=16, max_length=200, description="HMAC key; generated when left out"
    )


@router.post("", status_code=201, responses=answers(422))
def register_webhook(body: Register, _: AdminDep, webhooks: WebhooksDep) -> dict[str, Any]:
    """Registers a webhook; the answer holds its secret, shown this once."""
    return webhooks.register(body.url, body.events, body.secret)


@router.get("")
def list_webhooks(_: AdminDep, webhooks: WebhooksDep) -> list[dict[str, Any]]:
    return webhooks.registered()


@router.delete("/{webhook_id}", status_code=204, responses=answers(404))
def remove_webhook(webhook_id: str, _: AdminDep, webhooks: WebhooksDep) -> None:
    webhooks.remove(webhook_id)


@router.get("/{webhook_id}/deliveries", responses=answers(404))
def webhook_deliveries(
    webhook_id: str,
    _: AdminDep,
    webhooks: WebhooksDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """The newest delivery attempts first: event id (log position), outcome, status, time."""
    return webhooks.deliveries(webhook_id, limit)
