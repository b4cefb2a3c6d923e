"""How the stores fail: errors the library's own code understands, and messages that say why."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from eventsourcing.persistence import OperationalError, ProgrammingError
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

from rescue.domain.errors import Unavailable
from rescue.store.chain import ChainedPostgresRecorder, ChainedSQLiteRecorder
from rescue.store.pg_datastore import FailFastPostgresDatastore, StoreUnreachable
from tests.support import free_port


def fail_fast(**settings: str) -> FailFastPostgresDatastore:
    """The project's PostgreSQL datastore; nothing is connected until it is used."""
    params = {
        "dbname": "rescue",
        "host": "127.0.0.1",
        "port": "5432",
        "user": "rescue",
        "password": "rescue",
        "connect_timeout": 1,
        **settings,
    }
    return FailFastPostgresDatastore.adopt(PostgresDatastore(**params))  # type: ignore[arg-type]


def test_a_server_that_cannot_be_reached_is_unavailable_and_the_librarys_operational_error() -> (
    None
):
    # 1. Nothing listens on the port.
    datastore = fail_fast(port=str(free_port()))
    try:
        # 2. The error is the project's 503 and the library's OperationalError at once.
        with pytest.raises(StoreUnreachable) as raised, datastore.get_connection():
            pass
        assert isinstance(raised.value, Unavailable)
        assert isinstance(raised.value, OperationalError)
        assert "the PostgreSQL server cannot be reached" in str(raised.value)
        # 3. Marked down: the next caller is refused at once, the same way.
        with pytest.raises(OperationalError), datastore.get_connection():
            pass
    finally:
        datastore.close()


@pytest.mark.postgres
def test_a_refused_login_is_not_reported_as_an_unreachable_server(postgres_url: str) -> None:
    # 1. The server is up, but the store URL names a role it does not know (a wrong
    #    password reads the same way: libpq's FATAL line names what was refused).
    where = urlsplit(postgres_url)
    datastore = fail_fast(
        dbname=where.path.strip("/"),
        host=where.hostname or "127.0.0.1",
        port=str(where.port),
        user="nobody_here",
    )
    try:
        with pytest.raises(StoreUnreachable) as raised, datastore.get_connection():
            pass
    finally:
        datastore.close()
    # 2. The message says the login was refused and what to check.
    message = str(raised.value)
    assert "the PostgreSQL server refused the login" in message
    assert 'role "nobody_here" does not exist' in message
    assert "check the user and password of the store URL" in message
    assert "cannot be reached" not in message


def test_the_hash_chain_refuses_text_originator_ids_when_made(tmp_path: Path) -> None:
    sqlite = SQLiteDatastore(str(tmp_path / "log.db"), originator_id_type="text")
    with pytest.raises(ProgrammingError, match="the hash chain needs UUID originator ids"):
        ChainedSQLiteRecorder(sqlite)
    postgres = PostgresDatastore(
        dbname="rescue",
        host="127.0.0.1",
        port=str(free_port()),
        user="rescue",
        password="rescue",
        originator_id_type="text",
    )
    try:
        with pytest.raises(ProgrammingError, match="ORIGINATOR_ID_TYPE"):
            ChainedPostgresRecorder(postgres)
    finally:
        postgres.close()
