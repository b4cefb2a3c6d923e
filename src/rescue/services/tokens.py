"""Every access token's standing, held in memory as a projection of the log.

A request is authenticated by looking its token's hash up here instead of
reading the token's aggregate from the store: a dictionary lookup instead of a
round trip to the database on every request. The book is fed by the process's
log follower, so a token issued or revoked through any process of the same
store (servers, `rescue users`) reaches it as soon as the follower delivers
the event: PostgreSQL's notification, or SQLite's poll of a fraction of a second.

Only hashes are kept, as in the store. A hash the book does not know may be a
token issued a moment ago that the follower has not delivered yet; the
service then asks the store, so a freshly issued token never fails.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from rescue.domain.access import AccessToken
from rescue.services.store import RescueStore
from rescue.store.legacy_topics import legacy_topic

_ISSUED = "AccessToken.Issued"
_REVOKED = "AccessToken.Revoked"
_PAGE = 1000


# Each class under its topic now and the one logs written before `rescue.domain` hold.
_TOPICS = [
    topic
    for cls in (
        AccessToken.Issued,  # type: ignore[attr-defined]
        AccessToken.Revoked,  # type: ignore[attr-defined]
    )
    for topic in (get_topic(cls), legacy_topic(get_topic(cls)))
    if topic is not None
]


@dataclass(frozen=True, slots=True)
class TokenStanding:
    """Who a token acts for, until when, and whether it was revoked."""

    name: str
    role: str
    van_id: str | None
    expires_at: datetime | None
    revoked: bool

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at


class TokenBook:
    """Token standings by the token aggregate's id (derived from the token's hash)."""

    def __init__(self) -> None:
        self._tokens: dict[UUID, TokenStanding] = {}
        self._lock = threading.Lock()
        # False until the book has read the log up to where its follower starts:
        # until then only the store can say whether a token stands.
        self.current = False

    def standing(self, token_id: UUID) -> TokenStanding | None:
        # A single dict read is atomic; entries are replaced, never mutated.
        return self._tokens.get(token_id)

    def __len__(self) -> int:
        return len(self._tokens)

    def apply(self, position: int, event: Any) -> None:
        """The follower's handler: takes the access token events, ignores the rest."""
        name = type(event).__qualname__
        if name == _ISSUED:
            standing = TokenStanding(
                name=event.name,
                role=event.role,
                van_id=event.van_id,
                expires_at=getattr(event, "expires_at", None),
                revoked=False,
            )
            with self._lock:
                self._tokens[event.originator_id] = standing
        elif name == _REVOKED:
            with self._lock:
                known = self._tokens.get(event.originator_id)
                if known is not None:
                    self._tokens[event.originator_id] = TokenStanding(
                        known.name, known.role, known.van_id, known.expires_at, revoked=True
                    )

    def load(self, store: RescueStore, upto: int) -> None:
        """Reads every token event of the log up to position `upto` (inclusive).

        The follower then delivers what comes after `upto`, so together they
        see every token event once.
        """
        recorder = store.recorder
        position = 0
        while position < upto:
            page = recorder.select_notifications(
                start=position,
                limit=_PAGE,
                stop=upto,
                topics=_TOPICS,
                inclusive_of_start=False,
            )
            for notification in page:
                self.apply(notification.id, store.mapper.to_domain_event(notification))
            if len(page) < _PAGE:
                break
            position = page[-1].id
        self.current = True
