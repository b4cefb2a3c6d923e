"""Access tokens: one account per name, bearer tokens of which only a hash is stored."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from eventsourcing.domain import Aggregate, event

from rescue.domain.actors import Actor
from rescue.domain.ids import account_uuid, token_uuid


class Principal:
    """The caller behind a bearer token."""

    def __init__(self, name: str, role: str, van_id: str | None) -> None:
        self.name = name
        self.role = role
        self.van_id = van_id

    @property
    def actor(self) -> Actor:
        return Actor(role=self.role, name=self.name, van_id=self.van_id)


def hash_token(token: str) -> str:
    # Tokens are 256-bit random strings, so a plain SHA-256 is enough: there
    # is nothing to brute-force that a slow hash would protect.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


_LIFETIME = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_lifetime(text: str) -> timedelta:
    """A token lifetime such as `90m`, `8h`, `30d` or `3600` (seconds); it must be positive."""
    match = _LIFETIME.match(text.lower())
    if match is None:
        raise ValueError(f"{text!r} is not a lifetime: a number with s, m, h or d, such as 8h")
    lifetime = timedelta(seconds=float(match[1]) * _UNIT_S[match[2]])
    if lifetime <= timedelta(0):
        raise ValueError("a token lifetime must be positive")
    return lifetime


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
    def issue(
        self, token_hash: str, actor: dict[str, Any], expires_at: datetime | None = None
    ) -> None:
        self.token_hashes.append(token_hash)
        self.revoked = False

    @event("Revoked")
    def revoke(self, actor: dict[str, Any]) -> None:
        self.revoked = True


class AccessToken(Aggregate):
    """Found by the hash of the presented token, so a request needs one read to authenticate.

    A token issued with a lifetime stops working at `expires_at`; one without
    (`expires_at` None, as every token issued before lifetimes existed) works
    until it is revoked.
    """

    @staticmethod
    def create_id(token_hash: str, **_: Any) -> Any:
        return token_uuid(token_hash)

    @event("Issued")
    def __init__(
        self,
        token_hash: str,
        name: str,
        role: str,
        van_id: str | None,
        expires_at: datetime | None = None,
    ) -> None:
        self.name = name
        self.role = role
        self.van_id = van_id
        self.expires_at = expires_at
        self.revoked = False

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    @event("Revoked")
    def revoke(self) -> None:
        self.revoked = True
