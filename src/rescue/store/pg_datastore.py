"""The library's PostgreSQL persistence, failing fast while the server cannot be reached.

The library retries every recorder call ten times on a connection error, and
each try waits for the pool to hand out a connection: with the server down a
single request took some fifty seconds to fail. Here the first connection
failure is confirmed with a fresh, short connection attempt; if that fails
too, the store is marked unreachable and every caller gets `StoreUnreachable`
(503 with Retry-After). That error is both the project's `Unavailable` and the
library's `OperationalError`, so code written against the library's errors
sees it for what it is; the library's own ten retries (0.2 s apart) of a
recorder call therefore also see it, each failing at once. A server that
refuses the login (a wrong password) is told apart from one that cannot be
reached: the message says which, so a wrong password is not mistaken for an
outage. While marked,
one caller at a time probes the server again (at most every `PROBE_EVERY_S`);
when a probe succeeds the pool is replaced by a fresh one, because the old
pool's reconnection attempts have backed off for as long as the outage
lasted.

Selected by `rescue.store.env.store_env` as the persistence module.
"""

from __future__ import annotations

import logging
import select
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InterfaceError,
    OperationalError,
)
from eventsourcing.postgres import ConnectionPool, PostgresDatastore, PostgresFactory
from eventsourcing.utils import Environment, EnvType
from psycopg.pq import TransactionStatus

from rescue.domain.errors import Unavailable
from rescue.store.sql import SCHEMA_LOCK_KEY

log = logging.getLogger("rescue.store.env")

PROBE_TIMEOUT_S = 1
PROBE_EVERY_S = 0.25
# What libpq says when the server is there but refuses the login: a wrong password, or
# a user or database that is not there. A mistake in the store URL, not an outage.
LOGIN_REFUSED = ("authentication failed", "no password supplied", "does not exist")


class StoreUnreachable(Unavailable, OperationalError):
    """The PostgreSQL server cannot be reached or refuses the login (503, may be retried)."""


class ReachabilityGate:
    """Whether the server answered lately; probes it with a fresh connection when in doubt."""

    def __init__(self, conninfo: dict[str, Any]) -> None:
        self._conninfo = {k: v for k, v in conninfo.items() if k != "row_factory"}
        self._lock = threading.Lock()
        self.down_since: float | None = None
        self.why = ""
        self.login_refused = False
        self._probed_at = 0.0

    def probe(self) -> bool:
        """True if a new connection to the server works now."""
        try:
            with psycopg.connect(**self._conninfo, connect_timeout=PROBE_TIMEOUT_S) as conn:
                conn.execute("SELECT 1")
        except Exception as error:  # any failure to connect means unreachable
            text = str(error).strip()
            self.login_refused = any(sign in text for sign in LOGIN_REFUSED)
            # libpq's message for a refused login names the server on its first line
            # and what was refused on the last.
            lines = text.splitlines() or [repr(error)]
            self.why = lines[-1].strip() if self.login_refused else lines[0]
            return False
        self.login_refused = False
        return True

    def mark_down(self) -> None:
        with self._lock:
            if self.down_since is None:
                self.down_since = time.monotonic()
                self._probed_at = self.down_since
                log.warning("%s", self.reason())

    def reason(self) -> str:
        if self.login_refused:
            return (
                f"the PostgreSQL server refused the login ({self.why}): "
                "check the user and password of the store URL"
            )
        return f"the PostgreSQL server cannot be reached: {self.why}"

    def unavailable(self) -> StoreUnreachable:
        return StoreUnreachable(self.reason())

    def claim_probe(self) -> bool:
        """True for the one caller that should probe now; the others fail at once."""
        with self._lock:
            now = time.monotonic()
            if self.down_since is None or now - self._probed_at < PROBE_EVERY_S:
                return False
            self._probed_at = now
            return True

    def mark_up(self) -> None:
        with self._lock:
            if self.down_since is not None:
                log.warning(
                    "the PostgreSQL server is reachable again after %.1f s",
                    time.monotonic() - self.down_since,
                )
            self.down_since = None


class FailFastPostgresDatastore(PostgresDatastore):
    """`PostgresDatastore` whose connections are refused at once while the server is down."""

    gate: ReachabilityGate

    @classmethod
    def adopt(cls, datastore: PostgresDatastore) -> FailFastPostgresDatastore:
        """Turns the library's datastore (and its pool, not yet opened) into this kind."""
        # The library's factory builds its datastore itself, with settings read
        # from the environment; re-typing that object keeps every one of them.
        datastore.__class__ = cls
        assert isinstance(datastore, FailFastPostgresDatastore)
        kwargs = datastore.pool.kwargs
        datastore.gate = ReachabilityGate(dict((kwargs() if callable(kwargs) else kwargs) or {}))
        datastore._swap_lock = threading.Lock()
        datastore.pool = _pool_like(datastore.pool, datastore)
        return datastore

    _swap_lock: threading.Lock

    @contextmanager
    def get_connection(self) -> Iterator[psycopg.Connection[Any]]:
        gate = self.gate
        if gate.down_since is not None:
            if not gate.claim_probe():
                raise gate.unavailable()
            if not gate.probe():
                raise gate.unavailable()
            self._renew_pool()
            gate.mark_up()
        conn: psycopg.Connection[Any] | None = None
        try:
            with super().get_connection() as conn:
                yield conn
        except (OperationalError, InterfaceError) as error:
            # A query that failed on a working connection says nothing about the server.
            if conn is not None and not conn.broken:
                raise
            if gate.probe():
                raise
            gate.mark_down()
            raise gate.unavailable() from error

    def _renew_pool(self) -> None:
        """A fresh pool with the same settings; the old one is closed in the background."""
        with self._swap_lock:
            old = self.pool
            self.pool = _pool_like(old, self)
        threading.Thread(target=old.close, name="old-pg-pool", daemon=True).start()


def _pool_like(old: ConnectionPool[Any], datastore: PostgresDatastore) -> ConnectionPool[Any]:
    """A new pool with the settings of `old`, not yet open."""
    return ConnectionPool(
        get_password_func=old.get_password_func,
        connection_class=old.connection_class,
        kwargs=old.kwargs,
        min_size=old.min_size,
        max_size=old.max_size,
        open=False,
        configure=datastore.after_connect_func(),
        timeout=old.timeout,
        max_waiting=old.max_waiting,
        max_lifetime=old.max_lifetime,
        check=check_unless_quiet if datastore.pre_ping else None,
    )


def check_unless_quiet(conn: psycopg.Connection[Any]) -> None:
    """The check of a pooled connection before it is handed out, without a round trip
    when the socket shows it is fine.

    A server that shut down, restarted or ended the session has closed the socket or
    sent its notice of termination, and either makes the socket readable; an idle
    connection with nothing to read is handed out as it is (one poll of the socket
    instead of the pool's empty query, which was half the round trips of a store read).
    Anything else gets the pool's own check, which raises for a connection that does
    not work, and the pool replaces it.
    """
    if not conn.closed and conn.info.transaction_status == TransactionStatus.IDLE:
        socket = select.poll()
        socket.register(conn.fileno(), select.POLLIN)
        if not socket.poll(0):
            return
    ConnectionPool.check_connection(conn)


class Factory(PostgresFactory):
    """The library's factory; recorders that create their tables take turns doing so.

    Opening a store creates the library's tables, types and database functions
    when they are missing, and replaces the functions every time. Run by two
    sessions at once, `CREATE OR REPLACE FUNCTION` fails in one with "tuple
    concurrently updated": the server processes of `rescue serve --workers`,
    starting together, sometimes did, and a process that fails while starting
    stops the whole server.
    """

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        self.datastore = FailFastPostgresDatastore.adopt(self.datastore)

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        with self._schema_turn():
            return super().aggregate_recorder(purpose)

    def application_recorder(self) -> ApplicationRecorder:
        with self._schema_turn():
            return super().application_recorder()

    @contextmanager
    def _schema_turn(self) -> Iterator[None]:
        """Holds the store's schema lock (on a connection of its own) while creating."""
        if not self.env_create_table():
            yield
            return
        with self.datastore.get_connection() as conn:
            conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (SCHEMA_LOCK_KEY,))
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (SCHEMA_LOCK_KEY,))
