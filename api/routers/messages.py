"""Messages between the operator and a van's crew: about an incident, or to the van.

A message sent here reaches the console (`/ws/board`) and the van's tablet
(`/ws/crew`) as a change of the incident's or the van's document
(`"message"`), and its read receipt as `"message_read"`.
"""

# Annotations are evaluated where they are written: the routes are made in a function
# whose path parameter type is local to it.
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
from rescue.services.messages import Subject

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


def _conversation_routes(subject: Subject, base: str, param: str, whose: str) -> None:
    """The three routes of one kind of conversation, under `base/{param}/messages`."""
    subject_path = Annotated[str, Path(alias=param)]
    messages = f"{base}/{{{param}}}/messages"

    @router.post(
        messages,
        name=f"send_{subject}_message",
        status_code=201,
        response_model=Message,
        responses=answers(*SIGNED_IN, 403, 404, 409, 422),
        description=f"Sends a message {whose} (operator, or the crew of the van concerned).",
    )
    def send(
        subject_id: subject_path,
        body: SendMessage,
        request: Request,
        app: AppDep,
        writer: WriterDep,
        key: IdempotencyHeader = None,
    ) -> JSONResponse:
        return run_command(
            request,
            writer,
            key,
            body,
            lambda data, idem: app.messages.send(subject, subject_id, data["text"], writer, idem),
        )

    @router.get(
        messages,
        name=f"{subject}_messages",
        response_model=list[Message],
        responses=answers(*SIGNED_IN, 403, 404),
        description=f"The messages {whose}, oldest first (operator, auditor, or the crew of"
        " the van concerned).",
    )
    def conversation(
        subject_id: subject_path, app: AppDep, principal: AnyRoleDep
    ) -> list[dict[str, Any]]:
        return app.messages.conversation(subject, subject_id, principal)

    @router.post(
        messages + "/{message_id}/read",
        name=f"read_{subject}_message",
        response_model=Message,
        responses=answers(*SIGNED_IN, 403, 404, 409, 422),
        description="Records that the message was read by the side it was sent to"
        " (a read receipt).",
    )
    def read(
        subject_id: subject_path,
        message_id: MessageId,
        request: Request,
        app: AppDep,
        reader: WriterDep,
        key: IdempotencyHeader = None,
    ) -> JSONResponse:
        return run_command(
            request,
            reader,
            key,
            None,
            lambda _, idem: app.messages.read(subject, subject_id, message_id, reader, idem),
        )


_conversation_routes(Subject.INCIDENT, "/api/incidents", "incident_id", "about the incident")
_conversation_routes(Subject.VAN, "/api/vans", "van_id", "in the van's own conversation")
