"""The library's PostgreSQL persistence, failing fast while the server cannot be reached.

The library retries every recorder call ten times on a connection error, and
each try waits for the pool to hand out a connection: with the server down a
single request took some fifty seconds to fail. Here the first connection
failure is confirmed with a fresh, short connection attempt; if that fails
too, the store is marked unreachable and every caller gets `Unavailable`
(503 with Retry-After) at once, without the library's retries. While marked,
one caller at a time probes the server again (at most every `PROBE_EVERY_S`);
when a probe succeeds the pool is replaced by a fresh one, because the old
pool's reconnection attempts have backed off for as long as the outage
lasted.

Selected by `rescue.store.env.store_env` as the persistence module.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError
from eventsourcing.postgres import ConnectionPool, PostgresDatastore, PostgresFactory
from eventsourcing.utils import Environment, EnvType

from rescue.domain.errors import Unavailable

log = logging.getLogger("rescue.store.env")

PROBE_TIMEOUT_S = 1
PROBE_EVERY_S = 0.25


class ReachabilityGate:
    """Whether the server answered lately; probes it with a fresh connection when in doubt."""

    def __init__(self, conninfo: dict[str, Any]) -> None:
        self._conninfo = {k: v for k, v in conninfo.items() if k != "row_factory"}
        self._lock = threading.Lock()
        self.down_since: float | None = None
        self.why = ""
        self._probed_at = 0.0

    def probe(self) -> bool:
        """True if a new connection to the server works now."""
        try:
            with psycopg.connect(**self._conninfo, connect_timeout=PROBE_TIMEOUT_S) as conn:
                conn.execute("SELECT 1")
        except Exception as error:  # any failure to connect means unreachable
            self.why = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
            return False
        return True

    def mark_down(self) -> None:
        with self._lock:
            if self.down_since is None:
                self.down_since = time.monotonic()
                self._probed_at = self.down_since
                log.warning("the PostgreSQL server cannot be reached: %s", self.why)

    def unavailable(self) -> Unavailable:
        return Unavailable(f"the store is unavailable: {self.why}")

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
            self.pool = ConnectionPool(
                get_password_func=old.get_password_func,
                connection_class=old.connection_class,
                kwargs=old.kwargs,
                min_size=old.min_size,
                max_size=old.max_size,
                open=False,
                configure=self.after_connect_func(),
                timeout=old.timeout,
                max_waiting=old.max_waiting,
                max_lifetime=old.max_lifetime,
                check=ConnectionPool.check_connection if self.pre_ping else None,
            )
        threading.Thread(target=old.close, name="old-pg-pool", daemon=True).start()


class Factory(PostgresFactory):
    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        self.datastore = FailFastPostgresDatastore.adopt(self.datastore)
