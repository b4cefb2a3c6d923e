"""Where read models live: two tables in the same database as the event log.

`read_models(model, key, doc)` holds the documents; `projection_tracking(name,
position)` the log position they reflect. A batch's documents and its
position are written in one transaction, guarded by the position read at the
start (so two runners on one database can never both apply a batch).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson

from rescue.projections.changes import Doc
from rescue.store.env import is_sqlite
from rescue.store.sql import connect, schema_transaction, transaction


class PositionMoved(Exception):
    """Another runner stored a batch first; reload and carry on from its position."""


class ViewStore:
    def __init__(self, url: str, name: str = "read_models") -> None:
        self.url = url
        self.name = name
        self.sqlite = is_sqlite(url)
        self._conn: Any = self._connect()
        self._create()

    def _connect(self) -> Any:
        return connect(self.url)

    def _sql(self, statement: str) -> str:
        return statement if self.sqlite else statement.replace("?", "%s")

    def _create(self) -> None:
        blob = "BLOB" if self.sqlite else "BYTEA"
        with schema_transaction(self._live(), self.sqlite) as cur:
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS read_models (model TEXT NOT NULL, key TEXT NOT NULL,"
                f" doc {blob} NOT NULL, PRIMARY KEY (model, key))"
            )
            cur.execute(
                "CREATE TABLE IF NOT EXISTS projection_tracking "
                "(name TEXT PRIMARY KEY, position BIGINT NOT NULL)"
            )

    def _live(self) -> Any:
        """The connection, opened again if the server dropped it (a PostgreSQL restart)."""
        if not self.sqlite and self._conn.closed:
            self._conn = self._connect()
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with transaction(self._live(), self.sqlite) as cur:
            yield cur

    def position(self) -> int:
        # One read needs no transaction (on SQLite it would wait for another writer's lock).
        cur = self._live().cursor()
        cur.execute(
            self._sql("SELECT position FROM projection_tracking WHERE name = ?"), (self.name,)
        )
        row = cur.fetchone()
        return int(row[0]) if row else 0

    def load(self) -> Iterator[tuple[str, str, Doc]]:
        cur = self._live().cursor()
        cur.execute("SELECT model, key, doc FROM read_models")
        for model, key, doc in cur.fetchall():
            yield model, key, orjson.loads(bytes(doc))

    def load_models_named(self, models: Sequence[str]) -> Iterator[tuple[str, str, Doc]]:
        """The documents of these models only, for a reader that does not keep them itself."""
        cur = self._live().cursor()
        marks = ", ".join("?" for _ in models)
        cur.execute(
            self._sql(f"SELECT model, key, doc FROM read_models WHERE model IN ({marks})"),
            tuple(models),
        )
        for model, key, doc in cur.fetchall():
            yield model, key, orjson.loads(bytes(doc))

    def save(
        self, expected: int, position: int, changes: Sequence[tuple[str, str, Doc | None]]
    ) -> None:
        """Stores changed documents and the new position, if nobody moved it meanwhile."""
        with self.transaction() as cur:
            lock = "" if self.sqlite else " FOR UPDATE"
            cur.execute(
                self._sql(f"SELECT position FROM projection_tracking WHERE name = ?{lock}"),
                (self.name,),
            )
            row = cur.fetchone()
            if (int(row[0]) if row else 0) != expected:
                raise PositionMoved()
            upserts = [(m, k, orjson.dumps(d)) for m, k, d in changes if d is not None]
            deletes = [(m, k) for m, k, d in changes if d is None]
            if upserts:
                cur.executemany(
                    self._sql(
                        "INSERT INTO read_models (model, key, doc) VALUES (?, ?, ?) "
                        "ON CONFLICT (model, key) DO UPDATE SET doc = excluded.doc"
                    ),
                    upserts,
                )
            if deletes:
                cur.executemany(
                    self._sql("DELETE FROM read_models WHERE model = ? AND key = ?"), deletes
                )
            cur.execute(
                self._sql(
                    "INSERT INTO projection_tracking (name, position) VALUES (?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET position = excluded.position"
                ),
                (self.name, position),
            )

    def replace_all(self, position: int, docs: Sequence[tuple[str, str, Doc]]) -> None:
        """A rebuild: every document and the position, swapped in at once."""
        with self.transaction() as cur:
            cur.execute("DELETE FROM read_models")
            cur.executemany(
                self._sql("INSERT INTO read_models (model, key, doc) VALUES (?, ?, ?)"),
                [(m, k, orjson.dumps(d)) for m, k, d in docs],
            )
            cur.execute(self._sql("DELETE FROM projection_tracking WHERE name = ?"), (self.name,))
            cur.execute(
                self._sql("INSERT INTO projection_tracking (name, position) VALUES (?, ?)"),
                (self.name, position),
            )

    def close(self) -> None:
        self._conn.close()
