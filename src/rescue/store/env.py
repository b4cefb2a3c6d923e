"""From a store URL (`sqlite:///path`, `postgresql://...`) to the library's environment."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from eventsourcing.utils import Environment

# The application's name is part of the store: the library names the PostgreSQL
# tables after it (rescueapp_events) and reads each setting under it first
# (RESCUEAPP_SQLITE_DBNAME before SQLITE_DBNAME). Whatever opens the store
# without the application (backups, the chain check) must use the same name.
APPLICATION_NAME = "RescueApp"
# Seconds a SQLite write waits for another connection's write lock before failing.
SQLITE_LOCK_TIMEOUT_S = 10


class BadStoreURL(ValueError):
    pass


def store_env(url: str) -> dict[str, str]:
    """The eventsourcing settings for a store URL; a SQLite file's folder is created."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        # sqlite:///var/rescue.db is relative, sqlite:////abs/rescue.db absolute.
        raw = url[len("sqlite:///") :] if url.startswith("sqlite:///") else ""
        if not raw:
            raise BadStoreURL(f"expected sqlite:///path/to/file.db, got {url!r}")
        path = Path(unquote(raw))
        path.parent.mkdir(parents=True, exist_ok=True)
        return {
            # The library's module, with a statement cache of more than one statement.
            "PERSISTENCE_MODULE": "rescue.store.sqlite_datastore:Factory",
            "APPLICATION_RECORDER_TOPIC": "rescue.store.chain:ChainedSQLiteRecorder",
            "SQLITE_DBNAME": str(path),
            # Writers from several threads and processes queue for the lock
            # instead of failing at once, but a lock held for longer (another
            # process in a long transaction) makes a write fail with 503 after
            # this many seconds rather than keep the request waiting.
            "SQLITE_LOCK_TIMEOUT": str(SQLITE_LOCK_TIMEOUT_S),
        }
    if parts.scheme in ("postgresql", "postgres"):
        if not parts.hostname or not parts.path.strip("/"):
            raise BadStoreURL(f"expected postgresql://user:pass@host:port/db, got {url!r}")
        return {
            # The library's module, failing fast while the server is down (503 at once).
            "PERSISTENCE_MODULE": "rescue.store.pg_datastore:Factory",
            # Every write also extends the hash chain (rescue.store.chain).
            "APPLICATION_RECORDER_TOPIC": "rescue.store.chain:ChainedPostgresRecorder",
            "POSTGRES_DBNAME": unquote(parts.path.strip("/")),
            "POSTGRES_HOST": parts.hostname,
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            "POSTGRES_POOL_SIZE": "10",
            "POSTGRES_MAX_OVERFLOW": "20",
            # How long a request waits for a pooled connection before the server is
            # probed (rescue.store.pg_datastore); and pooled connections are checked
            # before use, so one dropped by a server restart is replaced instead
            # of failing a request (by a poll of its socket, a query only when in doubt:
            # rescue.store.pg_datastore.check_unless_quiet).
            "POSTGRES_CONNECT_TIMEOUT": "2",
            "POSTGRES_PRE_PING": "y",
            "POSTGRES_LOCK_TIMEOUT": "10",
        }
    raise BadStoreURL(f"unsupported store URL {url!r}: use sqlite:///path or postgresql://...")


def store_environment(url: str, **overrides: str) -> Environment:
    """The library's environment for the store at `url`, as the application sees it.

    The process's environment, then the URL's settings, then `overrides`
    (`CREATE_TABLE="no"` to read a file that may not be a store without
    creating tables in it).
    """
    return Environment(APPLICATION_NAME, {**os.environ, **store_env(url), **overrides})


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite:")
