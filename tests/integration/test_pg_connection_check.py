"""A pooled PostgreSQL connection is checked before use without a round trip when its socket
is quiet, and a connection the server has ended is still refused and replaced."""

from __future__ import annotations

import select
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from rescue.bootstrap import Rescue
from rescue.store.pg_datastore import FailFastPostgresDatastore, check_unless_quiet
from tests.builders import line_network, load, open_app


@pytest.fixture
def connection(postgres_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        yield conn


def _no_queries(*_: Any, **__: Any) -> Any:
    raise AssertionError("the check sent a query")


def test_an_idle_quiet_connection_is_handed_out_without_a_query(
    connection: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    connection.execute("SELECT 1")
    monkeypatch.setattr(connection, "execute", _no_queries)
    check_unless_quiet(connection)


def test_a_connection_with_something_to_read_gets_the_full_check(
    postgres_url: str, connection: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    connection.execute("LISTEN rescue_check")
    with psycopg.connect(postgres_url, autocommit=True) as other:
        other.execute("NOTIFY rescue_check")
    waiting = select.poll()
    waiting.register(connection.fileno(), select.POLLIN)
    assert waiting.poll(10_000)
    monkeypatch.setattr(connection, "execute", _no_queries)
    with pytest.raises(AssertionError, match="sent a query"):
        check_unless_quiet(connection)


def test_a_connection_the_server_ended_is_refused(
    postgres_url: str, connection: psycopg.Connection[Any]
) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (connection.info.backend_pid,))
    # The server's notice (or the closed socket) arrives on the client's socket.
    waiting = select.poll()
    waiting.register(connection.fileno(), select.POLLIN)
    assert waiting.poll(10_000)
    with pytest.raises(psycopg.OperationalError):
        check_unless_quiet(connection)


def _datastore(app: Rescue) -> FailFastPostgresDatastore:
    datastore = app.store.recorder.datastore  # type: ignore[attr-defined]
    assert isinstance(datastore, FailFastPostgresDatastore)
    return datastore


def test_reads_go_on_after_the_server_ends_every_pooled_connection(postgres_url: str) -> None:
    with open_app(postgres_url) as app:
        load(app, *line_network(2))
        assert app.runner.van("V1").id
        datastore = _datastore(app)
        assert datastore.pool._check is check_unless_quiet
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            ended = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchone()
        assert ended is not None and ended[0] > 0
        # Each pooled connection is found ended before use and replaced: no read fails.
        for _ in range(20):
            assert app.runner.van("V2").id
