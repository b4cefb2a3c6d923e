"""The library's SQLite persistence, with a statement cache that holds more than one statement.

The library opens its connections with ``cached_statements=True``, which
`sqlite3` reads as a cache of one statement: every transaction of the recorders
(``BEGIN``, the event INSERT, the chain's SELECT and INSERT) prepared each of its
statements again, a cost the ingest benchmark shows on every GPS report. Here
connections are made the library's way with a real cache.

Selected by `rescue.store.env.store_env` as the persistence module.
"""

from __future__ import annotations

import sqlite3

from eventsourcing.persistence import InterfaceError
from eventsourcing.sqlite import (
    SQLITE3_DEFAULT_LOCK_TIMEOUT,
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteFactory,
)
from eventsourcing.utils import Environment, EnvType

# Distinct statements a connection keeps prepared (the sqlite3 module's own default).
STATEMENT_CACHE_SIZE = 128


class StatementCachingPool(SQLiteConnectionPool):
    """The library's pool; its connections keep `STATEMENT_CACHE_SIZE` statements prepared."""

    def _create_connection(self) -> SQLiteConnection:
        # As the library's _create_connection, but for the size of the statement cache.
        try:
            c = sqlite3.connect(
                database=self.db_name,
                uri=True,
                check_same_thread=False,
                isolation_level=None,  # autocommit: the recorders issue BEGIN themselves
                cached_statements=STATEMENT_CACHE_SIZE,
                timeout=self.lock_timeout or SQLITE3_DEFAULT_LOCK_TIMEOUT,
            )
        except (sqlite3.Error, TypeError) as e:
            raise InterfaceError(e) from e
        if not self.is_sqlite_memory_mode and not self.is_journal_mode_wal:
            mode = c.execute("PRAGMA journal_mode;").fetchone()[0]
            if mode.lower() != "wal":
                c.execute("PRAGMA journal_mode=WAL;")
                self.journal_mode_was_changed_to_wal = True
            self.is_journal_mode_wal = True
        c.row_factory = sqlite3.Row
        return SQLiteConnection(sqlite_conn=c, max_age=self.max_age)


class Factory(SQLiteFactory):
    """The library's SQLite factory, handing out `StatementCachingPool` connections."""

    def __init__(self, env: Environment | EnvType | None):
        super().__init__(env)
        # The library's datastore builds its own pool; none of its connections exist
        # yet, so the pool only changes how it will make them.
        self.datastore.pool.__class__ = StatementCachingPool
