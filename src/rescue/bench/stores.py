"""The stores a server benchmark runs `rescue serve` on, each empty at the start.

SQLite: a new file in a scratch folder. PostgreSQL (`rescue bench --pg-url`):
a new database `rescue_bench_<random>` made with CREATE DATABASE on the
server the URL names, dropped (with its connections) when the benchmark is
done, so the user in the URL must be allowed to create databases. The
database in the URL itself is only connected to, never written.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from rescue.store.env import APPLICATION_NAME

__all__ = ["SQLITE", "BenchStore", "positions_stored", "stores_for"]

POSITION_TOPIC = "%PositionReported"


@dataclass(frozen=True)
class BenchStore:
    name: str  # "SQLite" or "PostgreSQL"
    pg_url: str | None = None  # the server to make a database on; None for SQLite

    @property
    def suffix(self) -> str:
        """What a row's name ends with: nothing on SQLite, the default store."""
        return "" if self.pg_url is None else f" ({self.name})"

    @contextlib.contextmanager
    def fresh(self, folder: Path) -> Iterator[str]:
        """The URL of an empty store of this kind, removed after."""
        if self.pg_url is None:
            yield f"sqlite:///{folder / 'rescue.db'}"
            return
        import psycopg
        from psycopg import sql

        name = f"rescue_bench_{secrets.token_hex(6)}"
        database = sql.Identifier(name)
        with psycopg.connect(self.pg_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(database))
        try:
            yield urlunsplit(urlsplit(self.pg_url)._replace(path="/" + name))
        finally:
            with psycopg.connect(self.pg_url, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(database))


SQLITE = BenchStore("SQLite")


def stores_for(pg_url: str | None) -> list[BenchStore]:
    """SQLite, and PostgreSQL when a server URL is given."""
    return [SQLITE] + ([BenchStore("PostgreSQL", pg_url)] if pg_url else [])


def positions_stored(db: str) -> int:
    """How many GPS positions the store at `db` holds."""
    # The library names the events table by the store: its default on SQLite, after the
    # application on PostgreSQL.
    if db.startswith("sqlite:///"):
        import sqlite3

        query = "SELECT count(*) FROM stored_events WHERE topic LIKE ?"
        with contextlib.closing(sqlite3.connect(db[len("sqlite:///") :])) as lite:
            row = lite.execute(query, (POSITION_TOPIC,)).fetchone()
    else:
        import psycopg
        from psycopg import sql

        table = sql.Identifier(f"{APPLICATION_NAME.lower()}_events")
        count = sql.SQL("SELECT count(*) FROM {} WHERE topic LIKE %s").format(table)
        with psycopg.connect(db) as conn:
            row = conn.execute(count, (POSITION_TOPIC,)).fetchone()
    return int(row[0]) if row else 0
