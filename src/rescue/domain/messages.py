"""Messages between the operator and a van's crew, kept on the record.

A message belongs to an incident (about that job) or to a van (anything
else the desk and a crew need to say). The aggregate holds its messages in
the order they were sent; each is read by the other side at most once, and
that reading is recorded too (a read receipt), so the record shows when the
crew saw "customer moved to exit 12", not only when it was sent.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate

from rescue.domain.errors import Conflict, Forbidden, NotFound

MAX_TEXT = 500
# The two sides of a conversation; each reads what the other one sent.
SIDES = ("operator", "crew")


def check_text(text: str) -> str:
    """The message as it is kept: trimmed, 1 to MAX_TEXT characters, no control characters."""
    if not isinstance(text, str):
        raise ValueError("text must be a string")
    cleaned = text.strip()
    if not cleaned:
        raise ValueError("text must not be empty")
    if len(cleaned) > MAX_TEXT:
        raise ValueError(f"text is limited to {MAX_TEXT} characters; it has {len(cleaned)}")
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in cleaned):
        raise ValueError("text must not contain control characters")
    return cleaned


def side_of(role: str) -> str:
    """Which side a role writes for; only the operator and the crew hold conversations."""
    if role not in SIDES:
        raise Forbidden(f"messages are between the operator and the crew, not the {role} role")
    return role


def message_doc(
    message_id: str, text: str, actor: dict[str, Any], sent_at: datetime
) -> dict[str, Any]:
    """One message as the aggregate keeps it and readers see it."""
    return {
        "message_id": message_id,
        "text": text,
        "from": actor.get("role"),
        "sender": actor.get("name"),
        "van_id": actor.get("van_id"),
        "sent_at": sent_at.isoformat(),
        "read_at": None,
        "read_by": None,
    }


def find(messages: list[dict[str, Any]], message_id: str) -> dict[str, Any]:
    for message in messages:
        if message["message_id"] == message_id:
            return message
    raise NotFound(f"no message {message_id}")


def check_reader(message: dict[str, Any], role: str) -> bool:
    """Whether reading `message` in `role` is news (False: it was read already).

    Only the side that did not send a message reads it: the sender knowing
    their own words is not a receipt.
    """
    side = side_of(role)
    if message["from"] == side:
        raise Conflict(
            f"message {message['message_id']} was sent by the {side}; the other side reads it",
            message,
        )
    return message["read_at"] is None


def mark_read(message: dict[str, Any], actor: dict[str, Any], read_at: datetime) -> None:
    message["read_at"] = read_at.isoformat()
    message["read_by"] = actor.get("name")


def messages_of(aggregate: Any) -> list[dict[str, Any]]:
    """The aggregate's messages, oldest first (none for one recorded before messages existed)."""
    kept: list[dict[str, Any]] = aggregate.__dict__.setdefault("messages", [])
    return kept


def apply_sent(
    aggregate: Any, message_id: str, text: str, actor: dict[str, Any], at: datetime
) -> None:
    messages_of(aggregate).append(message_doc(message_id, text, actor, at))


def apply_read(aggregate: Any, message_id: str, actor: dict[str, Any], at: datetime) -> None:
    mark_read(find(messages_of(aggregate), message_id), actor, at)


class MessageSent(Aggregate.Event):
    """A message was sent; each aggregate that holds a conversation nests a subclass."""

    message_id: str
    text: str
    actor: dict[str, Any]

    def apply(self, aggregate: Any) -> None:
        apply_sent(aggregate, self.message_id, self.text, self.actor, self.timestamp)


class MessageRead(Aggregate.Event):
    """The other side read a message (a read receipt)."""

    message_id: str
    actor: dict[str, Any]

    def apply(self, aggregate: Any) -> None:
        apply_read(aggregate, self.message_id, self.actor, self.timestamp)
