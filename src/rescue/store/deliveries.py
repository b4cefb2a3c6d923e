"""What the log's outgoing deliveries keep beside the log: cursors with leases, webhooks, attempts.

Three tables in the same database as the event log:

- `delivery_cursors(target, position, holder, lease_until)`: for each target
  (the SMS outbox, each webhook) the last log position it acknowledged and
  which server process holds the right to deliver it. A lease is a row, taken
  by one conditional UPDATE, so it works alike on SQLite and PostgreSQL; a
  process that dies leaves it to expire. The position moves only with the
  lease (`advance` is guarded by the holder), so a process that lost it can
  never move another's cursor.
- `webhooks`: the registrations. They are configuration, not part of the
  record, and hold a signing secret, which must never enter the append-only
  log (it could not be erased from it).
- `delivery_attempts`: every attempt to deliver to a webhook, the newest
  `KEEP_ATTEMPTS` per target.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson

from rescue.store.env import is_sqlite
from rescue.store.sql import connect, schema_transaction, transaction

KEEP_ATTEMPTS = 1000


@dataclass(frozen=True, slots=True)
class WebhookRow:
    webhook_id: str
    url: str
    events: list[str]
    secret: str
    created_at: str
    status: str  # active | failing
    status_detail: str | None

    def as_public(self) -> dict[str, Any]:
        """The registration without its secret."""
        return {
            "webhook_id": self.webhook_id,
            "url": self.url,
            "events": self.events,
            "created_at": self.created_at,
            "status": self.status,
            "status_detail": self.status_detail,
        }


@dataclass(frozen=True, slots=True)
class Attempt:
    target: str
    position: int
    event_type: str
    attempt: int
    at: str
    outcome: str  # delivered | failed
    status_code: int | None
    error: str | None
    duration_ms: float


class DeliveryStore:
    """One connection, shared by a process's delivery threads under a lock."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sqlite = is_sqlite(url)
        self._lock = threading.RLock()
        self._conn: Any = self._connect()
        self._create()

    def _connect(self) -> Any:
        return connect(self.url)

    def _sql(self, statement: str) -> str:
        return statement if self.sqlite else statement.replace("?", "%s")

    @contextmanager
    def _cursor(self, *, write: bool = False) -> Iterator[Any]:
        """A cursor on the connection, opened again if the server dropped it; with `write`,
        inside one transaction (on SQLite, in the writers' queue: left to the busy handler,
        a write loses the lock to the GPS writers again and again under load)."""
        with self._lock:
            if not self.sqlite and self._conn.closed:
                self._conn = self._connect()
            if write:
                with transaction(self._conn, self.sqlite) as cur:
                    yield cur
                return
            cur = self._conn.cursor()
            try:
                yield cur
            finally:
                cur.close()

    def _execute(self, statement: str, params: Sequence[Any] = ()) -> int:
        with self._cursor(write=True) as cur:
            cur.execute(self._sql(statement), params)
            return int(cur.rowcount)

    def _fetch(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._cursor() as cur:
            cur.execute(self._sql(statement), params)
            return list(cur.fetchall())

    def _create(self) -> None:
        serial = "INTEGER PRIMARY KEY AUTOINCREMENT" if self.sqlite else "BIGSERIAL PRIMARY KEY"
        real = "REAL" if self.sqlite else "DOUBLE PRECISION"
        statements = [
            "CREATE TABLE IF NOT EXISTS delivery_cursors (target TEXT PRIMARY KEY,"
            f" position BIGINT NOT NULL, holder TEXT, lease_until {real} NOT NULL DEFAULT 0)",
            "CREATE TABLE IF NOT EXISTS webhooks (webhook_id TEXT PRIMARY KEY, url TEXT NOT NULL,"
            " events TEXT NOT NULL, secret TEXT NOT NULL, created_at TEXT NOT NULL,"
            " status TEXT NOT NULL, status_detail TEXT)",
            f"CREATE TABLE IF NOT EXISTS delivery_attempts (id {serial}, target TEXT NOT NULL,"
            " position BIGINT NOT NULL, event_type TEXT NOT NULL, attempt INTEGER NOT NULL,"
            " at TEXT NOT NULL, outcome TEXT NOT NULL, status_code INTEGER, error TEXT,"
            f" duration_ms {real} NOT NULL)",
            "CREATE INDEX IF NOT EXISTS delivery_attempts_target ON delivery_attempts (target, id)",
        ]
        with self._lock, schema_transaction(self._conn, self.sqlite) as cur:
            for statement in statements:
                cur.execute(statement)

    # -- cursors and leases -------------------------------------------------------------

    def ensure_cursor(self, target: str, position: int) -> None:
        """Creates the target's cursor at `position` unless it exists."""
        self._execute(
            "INSERT INTO delivery_cursors (target, position, holder, lease_until) "
            "VALUES (?, ?, NULL, 0) ON CONFLICT (target) DO NOTHING",
            (target, position),
        )

    def acquire(self, target: str, holder: str, ttl_s: float) -> bool:
        """Takes or renews the lease on the target's deliveries; True while this holder has it."""
        now = time.time()
        return (
            self._execute(
                "UPDATE delivery_cursors SET holder = ?, lease_until = ? WHERE target = ?"
                " AND (holder = ? OR holder IS NULL OR lease_until < ?)",
                (holder, now + ttl_s, target, holder, now),
            )
            == 1
        )

    def release(self, target: str, holder: str) -> None:
        self._execute(
            "UPDATE delivery_cursors SET holder = NULL, lease_until = 0"
            " WHERE target = ? AND holder = ?",
            (target, holder),
        )

    def position(self, target: str) -> int | None:
        rows = self._fetch("SELECT position FROM delivery_cursors WHERE target = ?", (target,))
        return int(rows[0][0]) if rows else None

    def advance(self, target: str, holder: str, position: int, ttl_s: float) -> bool:
        """Moves the cursor (and renews the lease) if this holder still has the lease."""
        return (
            self._execute(
                "UPDATE delivery_cursors SET position = ?, lease_until = ?"
                " WHERE target = ? AND holder = ? AND position <= ?",
                (position, time.time() + ttl_s, target, holder, position),
            )
            == 1
        )

    def rewind(self, target: str, position: int) -> None:
        """Sets the cursor back (a benchmark replaying a stretch of the log to a target)."""
        self._execute(
            "UPDATE delivery_cursors SET position = ? WHERE target = ?", (position, target)
        )

    # -- webhooks -----------------------------------------------------------------------

    def add_webhook(self, row: WebhookRow) -> None:
        self._execute(
            "INSERT INTO webhooks (webhook_id, url, events, secret, created_at, status,"
            " status_detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                row.webhook_id,
                row.url,
                orjson.dumps(row.events).decode(),
                row.secret,
                row.created_at,
                row.status,
                row.status_detail,
            ),
        )

    def webhooks(self) -> list[WebhookRow]:
        rows = self._fetch(
            "SELECT webhook_id, url, events, secret, created_at, status, status_detail"
            " FROM webhooks ORDER BY created_at, webhook_id"
        )
        return [
            WebhookRow(r[0], r[1], list(orjson.loads(r[2])), r[3], r[4], r[5], r[6]) for r in rows
        ]

    def webhook(self, webhook_id: str) -> WebhookRow | None:
        for row in self.webhooks():
            if row.webhook_id == webhook_id:
                return row
        return None

    def remove_webhook(self, webhook_id: str, target: str) -> bool:
        removed = self._execute("DELETE FROM webhooks WHERE webhook_id = ?", (webhook_id,))
        self._execute("DELETE FROM delivery_cursors WHERE target = ?", (target,))
        self._execute("DELETE FROM delivery_attempts WHERE target = ?", (target,))
        return removed == 1

    def set_status(self, webhook_id: str, status: str, detail: str | None) -> None:
        self._execute(
            "UPDATE webhooks SET status = ?, status_detail = ? WHERE webhook_id = ?",
            (status, detail, webhook_id),
        )

    # -- attempts -----------------------------------------------------------------------

    def record_attempts(self, attempts: Sequence[Attempt]) -> None:
        if not attempts:
            return
        with self._cursor(write=True) as cur:
            cur.executemany(
                self._sql(
                    "INSERT INTO delivery_attempts (target, position, event_type, attempt, at,"
                    " outcome, status_code, error, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                ),
                [
                    (
                        a.target,
                        a.position,
                        a.event_type,
                        a.attempt,
                        a.at,
                        a.outcome,
                        a.status_code,
                        a.error,
                        a.duration_ms,
                    )
                    for a in attempts
                ],
            )
            # Bounded: only the newest attempts of each target are kept.
            cur.execute(
                self._sql(
                    "DELETE FROM delivery_attempts WHERE target = ? AND id <= ("
                    " SELECT id FROM delivery_attempts WHERE target = ?"
                    " ORDER BY id DESC LIMIT 1 OFFSET ?)"
                ),
                (attempts[0].target, attempts[0].target, KEEP_ATTEMPTS),
            )

    def attempts(self, target: str, limit: int = 200) -> list[Attempt]:
        rows = self._fetch(
            "SELECT target, position, event_type, attempt, at, outcome, status_code, error,"
            " duration_ms FROM delivery_attempts WHERE target = ? ORDER BY id DESC LIMIT ?",
            (target, limit),
        )
        return [
            Attempt(r[0], int(r[1]), r[2], int(r[3]), r[4], r[5], r[6], r[7], float(r[8]))
            for r in rows
        ]

    def close(self) -> None:
        with self._lock:
            self._conn.close()
