"""Who has access: every account with its role, van, tokens' expiry and revocation, no token."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from rescue.domain.access import AccessToken, Account
from rescue.domain.ids import token_uuid
from rescue.services.store import RescueStore
from rescue.store.legacy_topics import legacy_topic

# Rows read at a time while looking for the accounts' first events.
_PAGE = 1000


def list_users(store: RescueStore, now: datetime) -> list[dict[str, Any]]:
    """Every account, by name: when it was made, when its last working token expires.

    `expires` is None while a token without a lifetime still works, the
    latest expiry of its tokens otherwise (in the past once all expired);
    `tokens` counts those still working; `revoked` is true once the account
    was revoked. Neither tokens nor their hashes are shown.
    """
    topic = get_topic(Account.Registered)  # type: ignore[attr-defined]
    topics = [topic, *filter(None, [legacy_topic(topic)])]
    users = []
    start = 1
    while True:
        rows = store.recorder.select_notifications(start, _PAGE, topics=topics)
        for row in rows:
            account: Account = store.repository.get(UUID(str(row.originator_id)))
            users.append(_user(store, account, now))
        if len(rows) < _PAGE:
            break
        start = rows[-1].id + 1
    return sorted(users, key=lambda u: str(u["name"]))


def _user(store: RescueStore, account: Account, now: datetime) -> dict[str, Any]:
    tokens: list[AccessToken] = [store.repository.get(token_uuid(h)) for h in account.token_hashes]
    working = [t for t in tokens if not t.revoked and not t.expired(now)]
    never = any(t.expires_at is None for t in working)
    expiries = [t.expires_at for t in tokens if t.expires_at is not None]
    return {
        "name": account.name,
        "role": account.role,
        "van_id": account.van_id,
        "created": account.created_on,
        "tokens": len(working),
        "expires": None if never or not expiries else max(expiries),
        "revoked": account.revoked,
    }
