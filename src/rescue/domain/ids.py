"""Aggregate ids derived from natural keys.

A uuid5 of the natural key makes a retried create collide with the first one
instead of creating a duplicate, and lets any process find an aggregate from
the id people use (a van's call number, a station code) without an index.
"""

from __future__ import annotations

from functools import lru_cache
from uuid import UUID, uuid5

NAMESPACE = UUID("6b1e8d1c-4d0a-4b8e-9a51-2f7c3c0d9e11")
# The ids read on every request (a caller's token, the van it names, its track) are kept:
# a uuid5 is a hash and a UUID built in Python, a few microseconds each time. A fleet's
# vans, stations and live tokens fit many times over.
_KEPT = 1 << 16


@lru_cache(maxsize=_KEPT)
def station_uuid(station_id: str) -> UUID:
    return uuid5(NAMESPACE, f"station:{station_id}")


@lru_cache(maxsize=_KEPT)
def van_uuid(van_id: str) -> UUID:
    return uuid5(NAMESPACE, f"van:{van_id}")


@lru_cache(maxsize=_KEPT)
def track_uuid(van_id: str) -> UUID:
    return uuid5(NAMESPACE, f"track:{van_id}")


@lru_cache(maxsize=_KEPT)
def token_uuid(token_hash: str) -> UUID:
    return uuid5(NAMESPACE, f"token:{token_hash}")


def account_uuid(name: str) -> UUID:
    return uuid5(NAMESPACE, f"account:{name}")


def idempotency_uuid(principal: str, key: str) -> UUID:
    return uuid5(NAMESPACE, f"idempotency:{principal}:{key}")


def registry_uuid(kind: str) -> UUID:
    return uuid5(NAMESPACE, f"registry:{kind}")


def tracking_link_uuid(code_hash: str) -> UUID:
    """A customer's tracking link, found from the hash of its code (the code is never kept)."""
    return uuid5(NAMESPACE, f"tracking-link:{code_hash}")
