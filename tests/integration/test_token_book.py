"""Tokens are authenticated from memory: the book the log follower keeps of every token.

A request's token is looked up in the book, not read from the store; a token
the book has not seen yet (issued a moment ago by another process) is read
from the store instead, so it never fails; revocations and lifetimes hold as
they do in the store.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from rescue.domain.access import hash_token
from rescue.domain.errors import Unauthenticated
from rescue.domain.ids import token_uuid
from rescue.services.tokens import TokenBook
from tests.builders import ADMIN, FakeClock, line_network, load, open_app


class StoreReads:
    """Counts the store's aggregate reads while it is installed on an app's repository."""

    def __init__(self, repository: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        real_get = repository.get

        def get(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return real_get(*args, **kwargs)

        monkeypatch.setattr(repository, "get", get)


def test_a_known_token_is_authenticated_without_reading_the_store(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_app(store_url) as app:
        load(app, *line_network(1))
        token = app.access.add_user("desk", "operator", None, ADMIN)
        crew = app.access.add_user("tow", "crew", "V1", ADMIN)
        reads = StoreReads(app.store.repository, monkeypatch)
        for _ in range(3):
            assert app.access.principal_for(token).name == "desk"
            principal = app.access.principal_for(crew)
            assert (principal.name, principal.role, principal.van_id) == ("tow", "crew", "V1")
        assert reads.count == 0
        # An unknown token is asked of the store, and refused.
        with pytest.raises(Unauthenticated, match="not recognised"):
            app.access.principal_for("no-such-token")
        assert reads.count == 1


def test_a_revoked_token_is_refused_from_memory(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_app(store_url) as app:
        first = app.access.add_user("desk", "operator", None, ADMIN)
        second = app.access.add_user("desk", "operator", None, ADMIN)
        assert app.access.known_principal(first) is not None
        assert app.access.revoke_user("desk", ADMIN) == 2
        reads = StoreReads(app.store.repository, monkeypatch)
        for token in (first, second):
            with pytest.raises(Unauthenticated, match="revoked"):
                app.access.principal_for(token)
        assert reads.count == 0
        # A token issued after the revocation works again; the revoked ones stay revoked.
        third = app.access.add_user("desk", "operator", None, ADMIN)
        assert app.access.principal_for(third).name == "desk"
        assert app.access.authenticate(first) is None


def test_a_lifetime_runs_out_in_memory_as_in_the_store(store_url: str) -> None:
    clock = FakeClock()
    with open_app(store_url, clock=clock) as app:
        token = app.access.add_user("temp", "operator", None, ADMIN, expires_in=timedelta(hours=1))
        clock.advance(3599)
        assert app.access.known_principal(token) is not None
        clock.advance(1)
        with pytest.raises(Unauthenticated, match="expired"):
            app.access.known_principal(token)


def test_a_token_issued_by_another_process_works_before_its_event_arrives(
    store_url: str,
) -> None:
    with open_app(store_url) as server, open_app(store_url) as other:
        server.follower.stop()  # this process hears of nothing new from now on
        token = other.access.add_user("late", "operator", None, ADMIN)
        assert server.access.known_principal(token) is None
        assert server.access.principal_for(token).name == "late"


def test_the_book_reads_the_log_up_to_where_its_follower_starts(store_url: str) -> None:
    with open_app(store_url) as app:
        kept = app.access.add_user("kept", "auditor", None, ADMIN)
        gone = app.access.add_user("gone", "operator", None, ADMIN)
        app.access.revoke_user("gone", ADMIN)
        head = app.store.recorder.max_notification_id() or 0
        later = app.access.add_user("later", "operator", None, ADMIN)

        book = TokenBook()
        assert not book.current
        book.load(app.store, head)
        assert book.current
        standing = book.standing(token_uuid(hash_token(kept)))
        assert standing is not None
        assert (standing.name, standing.role, standing.revoked) == ("kept", "auditor", False)
        revoked = book.standing(token_uuid(hash_token(gone)))
        assert revoked is not None and revoked.revoked
        assert book.standing(token_uuid(hash_token(later))) is None
        assert len(book) == 2
