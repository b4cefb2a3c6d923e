"""Plain connections to the store's database, for the tables kept beside the log."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rescue.store.env import SQLITE_LOCK_TIMEOUT_S, is_sqlite, store_env
from rescue.store.sqlite_datastore import turn_wal_on, writers_turn


class QueuedConnection(sqlite3.Connection):
    """A SQLite connection that knows its file, so its writers can join the writers' queue."""

    db_name = ""


def connect(url: str) -> Any:
    """An autocommit connection: SQLite in WAL mode waiting for locks, or psycopg."""
    if is_sqlite(url):
        path = store_env(url)["SQLITE_DBNAME"]
        conn = sqlite3.connect(
            path,
            isolation_level=None,
            check_same_thread=False,
            timeout=SQLITE_LOCK_TIMEOUT_S,
            factory=QueuedConnection,
        )
        conn.db_name = path
        turn_wal_on(conn, path)
        return conn
    import psycopg

    return psycopg.connect(url, autocommit=True)


@contextmanager
def transaction(conn: Any, sqlite: bool) -> Iterator[Any]:
    """A cursor inside one transaction, committed on leaving, rolled back on an error."""
    if sqlite:
        # Every SQLite connection here is a `QueuedConnection` from `connect`.
        with writers_turn(conn.db_name):
            cur = conn.cursor()
            # IMMEDIATE: take the write lock first, so reads and writes see the same database.
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")
    else:
        with conn.transaction(), conn.cursor() as cur:
            yield cur


# The key of the advisory lock that every creator of tables in a PostgreSQL store takes
# (here for a transaction; rescue.store.pg_datastore for a session).
SCHEMA_LOCK_KEY = "rescue.schema"


@contextmanager
def schema_transaction(conn: Any, sqlite: bool) -> Iterator[Any]:
    """A transaction for creating tables, one creator at a time.

    On PostgreSQL, `CREATE TABLE IF NOT EXISTS` run by two sessions at once
    can fail in the loser with a unique violation on the catalogue, so
    several server processes starting on one database would answer 500 to
    whoever came first. A transaction-scoped advisory lock makes them take
    turns; the second finds the table there. (SQLite's IMMEDIATE transaction
    already serialises them.)
    """
    with transaction(conn, sqlite) as cur:
        if not sqlite:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (SCHEMA_LOCK_KEY,))
        yield cur
