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


class Reply(NamedTuple):
    """A command's answer. A named tuple: the position writer builds one per request, and a
    frozen dataclass costs three times as much to build."""

    status_code: int
    body: dict[str, Any]


class StoredReply(Aggregate):
    @staticmethod
    def create_id(principal: str, key: str, **_: Any) -> Any:
        return idempotency_uuid(principal, key)

    @event("Recorded")
    def __init__(
        self, principal: str, key: str, fingerprint: str, status_code: int, body: dict[str, Any]
    ) -> None:
        self.fingerprint = fingerprint
        self.status_code = status_code
        self.body = body
