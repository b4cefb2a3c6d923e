"""The library's SQLite persistence, with a statement cache and a queue for writers.

The library opens its connections with ``cached_statements=True``, which
`sqlite3` reads as a cache of one statement: every transaction of the recorders
(``BEGIN``, the event INSERT, the chain's SELECT and INSERT) prepared each of its
statements again, a cost the ingest benchmark shows on every GPS report. Here
connections are made the library's way with a real cache.

Writers in several processes (``rescue serve --workers``) contend for SQLite's
one write lock. SQLite's busy handler makes the loser sleep and try again, in
steps that grow to tens of milliseconds, so a writer usually wakes long after
the lock was free. Here each write transaction first takes an exclusive
``flock`` on a file beside the database: the kernel queues the writers and
wakes the next one as soon as the holder lets go. SQLite's own lock and its
timeout still apply inside (other programs do not take the queue).

Selected by `rescue.store.env.store_env` as the persistence module.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

from eventsourcing.persistence import ConnectionUnavailableError, InterfaceError
from eventsourcing.sqlite import (
    SQLITE3_DEFAULT_LOCK_TIMEOUT,
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteCursor,
    SQLiteDatastore,
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
            if turn_wal_on(c, self.db_name):
                self.journal_mode_was_changed_to_wal = True
            self.is_journal_mode_wal = True
        c.row_factory = sqlite3.Row
        return SQLiteConnection(sqlite_conn=c, max_age=self.max_age)


def writers_queue_path(db_name: str) -> str:
    """The file whose lock queues the writers of the database file `db_name`."""
    return f"{db_name}-writers"


def turn_wal_on(conn: sqlite3.Connection, db_name: str) -> bool:
    """Puts the database file `db_name` in WAL mode unless it is; True if this call did.

    Turning WAL on needs the file to itself, and SQLite answers a second
    connection doing the same at that moment "database is locked" without
    waiting: processes starting at once on a fresh database take turns in the
    writers' queue, and the later ones find WAL on.
    """
    if _in_wal_mode(conn):
        return False
    with writers_turn(db_name):
        if _in_wal_mode(conn):
            return False
        conn.execute("PRAGMA journal_mode=WAL")
        return True


def _in_wal_mode(conn: sqlite3.Connection) -> bool:
    return str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal"


@contextmanager
def writers_turn(db_name: str) -> Iterator[None]:
    """A turn in the writers' queue of `db_name`, for a writer outside the datastore.

    The tables kept beside the log (callers' keys, read models) are written on
    connections of their own. Left to SQLite's busy handler while the GPS
    writers of every process pass the lock along the queue, such a writer slept
    in ever longer steps and kept losing: a new caller's first call waited
    3.2 s for its key under the fleet's load. Each turn opens the file anew,
    so it also queues behind a datastore writer of the same process.
    """
    fd = os.open(writers_queue_path(db_name), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # lets go of the lock


class QueuedWritersDatastore(SQLiteDatastore):
    """The library's datastore; its write transactions queue on `writers_queue_path`."""

    _queue_fd: int | None = None
    _queue_opened = threading.Lock()
    # The writers' turn in this process; set by `Factory` (the instance is the library's,
    # its class changed after it was made).
    _writers: threading.Lock

    @contextmanager
    def transaction(self, *, commit: bool) -> Iterator[SQLiteCursor]:
        if not commit or self.pool.is_sqlite_memory_mode:
            with super().transaction(commit=commit) as curs:
                yield curs
            return
        # Writers of this process take turns here, before the pool: a writer waiting
        # inside the pool for the pool's writer lock holds the pool's entry queue,
        # and every reader waits behind it (up to the pool's timeout, then 503)
        # while the store is slow to write. Reads must go on then.
        turn = self._writers
        if not turn.acquire(timeout=self.pool.pool_timeout):
            raise ConnectionUnavailableError("Timed out waiting for return of writer")
        try:
            # One writer of this process at a time, so one descriptor per process is
            # enough: flock only has to order the processes.
            with self.get_connection(commit=True) as conn:
                fd = self._queue()
                fcntl.flock(fd, fcntl.LOCK_EX)
                try:
                    with conn.transaction(commit=True) as curs:
                        yield curs
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            turn.release()

    def _queue(self) -> int:
        with self._queue_opened:
            if self._queue_fd is None:
                path = writers_queue_path(self.pool.db_name)
                self._queue_fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            return self._queue_fd

    def close(self) -> None:
        super().close()
        with self._queue_opened:
            if self._queue_fd is not None:
                os.close(self._queue_fd)
                self._queue_fd = None


class Factory(SQLiteFactory):
    """The library's SQLite factory: `StatementCachingPool` connections, queued writers."""

    def __init__(self, env: Environment | EnvType | None):
        super().__init__(env)
        # The library's datastore builds its own pool; none of its connections exist
        # yet, so the pool only changes how it will make them.
        self.datastore.pool.__class__ = StatementCachingPool
        self.datastore.__class__ = QueuedWritersDatastore
        cast(QueuedWritersDatastore, self.datastore)._writers = threading.Lock()
