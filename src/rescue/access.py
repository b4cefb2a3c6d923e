"""Access tokens: one account per name, bearer tokens of which only a hash is stored."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from eventsourcing.domain import Aggregate, event

from rescue.ids import account_uuid, token_uuid


def hash_token(token: str) -> str:
    # Tokens are 256-bit random strings, so a plain SHA-256 is enough: there
    # is nothing to brute-force that a slow hash would protect.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


class Account(Aggregate):
    """A named user in one role; a crew account acts for one van only."""

    @staticmethod
    def create_id(name: str, **_: Any) -> Any:
        return account_uuid(name)

    @event("Registered")
    def __init__(self, name: str, role: str, van_id: str | None, actor: dict[str, Any]) -> None:
        self.name = name
        self.role = role
        self.van_id = van_id
        self.token_hashes: list[str] = []
        self.revoked = False

    @event("TokenIssued")
    def issue(self, token_hash: str, actor: dict[str, Any]) -> None:
        self.token_hashes.append(token_hash)
        self.revoked = False

    @event("Revoked")
    def revoke(self, actor: dict[str, Any]) -> None:
        self.revoked = True


class AccessToken(Aggregate):
    """Found by the hash of the presented token, so a request needs one read to authenticate."""

    @staticmethod
    def create_id(token_hash: str, **_: Any) -> Any:
        return token_uuid(token_hash)

    @event("Issued")
    def __init__(self, token_hash: str, name: str, role: str, van_id: str | None) -> None:
        self.name = name
        self.role = role
        self.van_id = van_id
        self.revoked = False

    @event("Revoked")
    def revoke(self) -> None:
        self.revoked = True
