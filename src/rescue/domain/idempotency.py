"""Stored replies to POSTs that carried an `Idempotency-Key`.

The reply is saved in the same transaction as the change it reports, under an
id derived from the caller and the key: a retry finds it and gets the first
answer; two concurrent first tries collide and only one change is recorded.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, NamedTuple

from eventsourcing.domain import Aggregate, event

from rescue.domain.ids import idempotency_uuid


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    principal: str  # the account name: keys of different callers never collide
    key: str
    fingerprint: str  # what was asked: the same key for another request is refused

    @staticmethod
    def for_request(principal: str, key: str, method: str, path: str, body: Any) -> IdempotencyKey:
        canonical = json.dumps(body, sort_keys=True, default=str, separators=(",", ":"))
        digest = hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()
        return IdempotencyKey(principal=principal, key=key, fingerprint=digest)

    @property
    def uuid(self) -> Any:
        return idempotency_uuid(self.principal, self.key)


class Result(NamedTuple):
    """A command's answer: what it shows, and whether it made a new record (a station, an
    incident, a complaint) rather than changing one. A named tuple: the position writer
    builds one per request, and a frozen dataclass costs three times as much to build."""

    body: dict[str, Any]
    created: bool = False


class StoredReply(Aggregate):
    """The first result of a command that carried an idempotency key."""

    class Recorded(Aggregate.Created):
        """Version 1 stored the answer's HTTP status (`status_code`); version 2 stores only
        whether the command made a new record, which is what a status of 201 meant."""

        class_version = 2
        principal: str
        key: str
        fingerprint: str
        created: bool
        body: dict[str, Any]

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["created"] = state.pop("status_code") == 201

    @staticmethod
    def create_id(principal: str, key: str, **_: Any) -> Any:
        return idempotency_uuid(principal, key)

    @event(Recorded)
    def __init__(
        self, principal: str, key: str, fingerprint: str, created: bool, body: dict[str, Any]
    ) -> None:
        self.fingerprint = fingerprint
        self.created = created
        self.body = body

    @property
    def result(self) -> Result:
        return Result(self.body, self.created)
