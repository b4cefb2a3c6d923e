"""Messages between the operator and a van's crew: about an incident, or to the van.

A message sent here reaches the console (`/ws/board`) and the van's tablet
(`/ws/crew`) as a change of the incident's or the van's document
(`"message"`), and its read receipt as `"message_read"`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from rescue.api.deps import AnyRoleDep, AppDep, IdempotencyHeader, roles
from rescue.api.replies import run_command
from rescue.api.responses import SIGNED_IN, answers
from rescue.domain.access import Principal
from rescue.domain.messages import MAX_TEXT, check_text
from rescue.domain.vocabulary import Role

router = APIRouter(tags=["messages"])

WriterDep = Annotated[Principal, roles(Role.OPERATOR, Role.CREW)]
MessageId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9a-f]+$")]


class SendMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Longer than the limit is refused before it is trimmed (the limit is on the kept text).
    text: Annotated[str, Field(max_length=MAX_TEXT * 2), AfterValidator(check_text)]


class Message(BaseModel):
    message_id: str
    text: str
    sender: str | None
    sent_at: str
    read_at: str | None
    read_by: str | None
    incident_id: str | None = None

    model_config = ConfigDict(extra="allow")


# -- about an incident ------------------------------------------------------------------


@router.post(
    "/api/incidents/{incident_id}/messages",
    status_code=201,
    response_model=Message,
    responses=answers(*SIGNED_IN, 403, 404, 409, 422),
)
def send_about_incident(
    incident_id: str,
    body: SendMessage,
    request: Request,
    app: AppDep,
    writer: WriterDep,
    key: IdempotencyHeader = None,
) -> JSONResponse:
    """Sends a message about the incident (operator, or the crew of its van)."""
    return run_command(
        request,
        writer,
        key,
        body,
        lambda data, idem: app.messages.send_about_incident(
            incident_id, data["text"], writer, idem
        ),
    )


@router.get(
    "/api/incidents/{incident_id}/messages",
    response_model=list[Message],
    responses=answers(*SIGNED_IN, 403, 404),
)
def incident_messages(incident_id: str, app: AppDep, principal: AnyRoleDep) -> list[dict[str, Any]]:
    """The incident's messages, oldest first (operator, auditor, or the crew of its van)."""
    return app.messages.incident_messages(incident_id, principal)


@router.post(
    "/api/incidents/{incident_id}/messages/{message_id}/read",
    response_model=Message,
    responses=answers(*SIGNED_IN, 403, 404, 409, 422),
)
def read_about_incident(
    incident_id: str,
    message_id: MessageId,
    request: Request,
    app: AppDep,
    reader: WriterDep,
    key: IdempotencyHeader = None,
) -> JSONResponse:
    """Records that the message was read by the side it was sent to (a read receipt)."""
    return run_command(
        request,
        reader,
        key,
        None,
        lambda _, idem: app.messages.read_about_incident(incident_id, message_id, reader, idem),
    )


# -- to a van ---------------------------------------------------------------------------


@router.post(
    "/api/vans/{van_id}/messages",
    status_code=201,
    response_model=Message,
    responses=answers(*SIGNED_IN, 403, 404, 422),
)
def send_to_van(
    van_id: str,
    body: SendMessage,
    request: Request,
    app: AppDep,
    writer: WriterDep,
    key: IdempotencyHeader = None,
) -> JSONResponse:
    """Sends a message to the van's crew (operator), or from the crew to the desk."""
    return run_command(
        request,
        writer,
        key,
        body,
        lambda data, idem: app.messages.send_to_van(van_id, data["text"], writer, idem),
    )


@router.get(
    "/api/vans/{van_id}/messages",
    response_model=list[Message],
    responses=answers(*SIGNED_IN, 403, 404),
)
def van_messages(van_id: str, app: AppDep, principal: AnyRoleDep) -> list[dict[str, Any]]:
    """The van's own conversation, oldest first (operator, auditor, or that van's crew)."""
    return app.messages.van_messages(van_id, principal)


@router.post(
    "/api/vans/{van_id}/messages/{message_id}/read",
    response_model=Message,
    responses=answers(*SIGNED_IN, 403, 404, 409, 422),
)
def read_to_van(
    van_id: str,
    message_id: MessageId,
    request: Request,
    app: AppDep,
    reader: WriterDep,
    key: IdempotencyHeader = None,
) -> JSONResponse:
    """Records that the message was read by the side it was sent to (a read receipt)."""
    return run_command(
        request,
        reader,
        key,
        None,
        lambda _, idem: app.messages.read_to_van(van_id, message_id, reader, idem),
    )
