"""The hash chain over the application's event sequence, kept by the recorders on every write.

Every stored event, in notification order, is chained to the one before it::

    hash_n = sha256(hash_{n-1} || b"<notification id>\\n<originator id>\\n<version>\\n<topic>\\n"
                                || state)

where ``hash_{n-1}`` is the 32-byte digest of the previous event in the log
(32 zero bytes for the first), numbers are decimal ASCII, the originator id is
its 32 lower-case hex digits and ``state`` the stored bytes as they are.
Snapshots are not part of the record (they live in their own table and can be
rebuilt) and are not chained.

Storage: one row of the events table's chain table per write (per
transaction), in the same transaction as its events: the notification ids it covers
(``first_id``..``last_id``), the id chained before it (``prev_id``), the
events' digests (``hashes``, 32 bytes each, in order) and their originator ids
and versions (``keys``, 16 + 8 bytes each, so `rescue audit verify` can name an
event even when the event itself is gone). One row per write rather than one
per event because GPS reports arrive a thousand to a transaction: measured on
the ingest benchmark, a row per event cost three times as much time per batch.
Readers (`select_hashes`, `select_chained`) expand the rows back to one
`HashRow` per event.

Order of the writes, which the chain depends on:

* SQLite: the library opens its transaction with a plain ``BEGIN`` (deferred);
  the first INSERT of an event takes the write lock. The previous hash is read
  only after that, so no other writer can append in between.
* PostgreSQL: the events table is locked in EXCLUSIVE mode (the library's lock)
  before the INSERT, and the transaction commits before any other writer gets
  the lock; the previous hash is read, and the batch's ids taken from the
  table's sequence, right after the lock is taken.

What the chain cannot do alone: someone able to rewrite the whole database can
recompute every hash. Keep the head (`rescue audit verify` prints it) somewhere
else and check it with ``--anchor``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from hashlib import sha256
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    InterfaceError,
    Notification,
    OperationalError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteCursor, SQLiteDatastore
from eventsourcing.utils import retry
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier, Literal

from rescue.store.env import APPLICATION_NAME
from rescue.store.recorders import (
    EventRow,
    SubscribableSQLiteRecorder,
    event_rows,
    originator_key,
    whole_log_after,
)

# The chain of the project's own events table keeps the name it was first stored under;
# any other events table in the same database (another application's) has its own.
LEGACY_CHAIN_TABLE = "event_chain"
OWN_EVENTS_TABLES = frozenset({"stored_events", f"{APPLICATION_NAME.lower()}_events"})
GENESIS = bytes(32)
GENESIS_HEX = GENESIS.hex()
DIGEST = 32
KEY = 24  # a 16-byte originator id and an 8-byte big-endian version


def chain_table_for(events_table_name: str) -> str:
    """The table that holds the chain of the events table of that name."""
    if events_table_name in OWN_EVENTS_TABLES:
        return LEGACY_CHAIN_TABLE
    return f"{events_table_name}_chain"


def require_uuid_ids(datastore: SQLiteDatastore | PostgresDatastore) -> None:
    """Refuses a datastore set for text originator ids (`ORIGINATOR_ID_TYPE=text`).

    The chain keeps each event's originator id in 16 bytes (`keys`) so that
    `rescue audit verify` can name an event that is gone; a text id has no such
    form. Refused when the recorder is made, at start-up, rather than with the
    first write.
    """
    kind = getattr(datastore, "originator_id_type", "uuid")
    if kind != "uuid":
        raise ProgrammingError(
            f"the hash chain needs UUID originator ids, but the store is set for {kind} ids "
            "(ORIGINATOR_ID_TYPE): leave ORIGINATOR_ID_TYPE unset or set it to uuid"
        )


def link(
    previous: bytes,
    notification_id: int,
    originator_id: str,
    originator_version: int,
    topic: str,
    state: bytes,
) -> bytes:
    """The digest of one event, chained to the digest of the event before it."""
    return sha256(
        b"%s%d\n%s\n%d\n%s\n%s"
        % (
            previous,
            notification_id,
            originator_id.encode(),
            originator_version,
            topic.encode(),
            state,
        )
    ).digest()


@dataclass(frozen=True, slots=True)
class HashRow:
    """One event's place in the chain."""

    notification_id: int
    prev_id: int
    originator_id: str
    originator_version: int
    hash: str


@dataclass(frozen=True, slots=True)
class ChainedEvent:
    """A stored event with its place in the log and its chain entry (None if it has none)."""

    notification_id: int
    originator_id: str
    originator_version: int
    topic: str
    state: bytes
    prev_id: int | None
    prev_hash: str | None
    hash: str | None


@dataclass(frozen=True, slots=True)
class ChainRow:
    """The chain entries of one write: ids first_id..last_id, chained after prev_id."""

    first_id: int
    last_id: int
    prev_id: int
    hashes: bytes
    keys: bytes

    def digest(self, notification_id: int) -> bytes | None:
        at = (notification_id - self.first_id) * DIGEST
        if notification_id > self.last_id or at < 0 or at + DIGEST > len(self.hashes):
            return None
        return self.hashes[at : at + DIGEST]

    def expand(self) -> list[HashRow]:
        count = min(self.last_id - self.first_id + 1, len(self.hashes) // DIGEST)
        count = min(count, len(self.keys) // KEY)
        rows = []
        for k in range(count):
            key = self.keys[k * KEY : (k + 1) * KEY]
            rows.append(
                HashRow(
                    notification_id=self.first_id + k,
                    prev_id=self.prev_id if k == 0 else self.first_id + k - 1,
                    originator_id=key[:16].hex(),
                    originator_version=int.from_bytes(key[16:], "big"),
                    hash=self.hashes[k * DIGEST : (k + 1) * DIGEST].hex(),
                )
            )
        return rows


def chain_row(first_id: int, prev_id: int, previous: bytes, rows: Sequence[EventRow]) -> ChainRow:
    """The chain row of events just given the consecutive ids first_id, first_id + 1, ..."""
    digests: list[bytes] = []
    keys: list[bytes] = []
    append_digest, append_key = digests.append, keys.append
    # Inlined (no link() or helper calls): this loop runs once per GPS report.
    for notification_id, (originator, version, topic, state) in enumerate(rows, first_id):
        previous = sha256(
            b"%s%d\n%s\n%d\n%s\n%s"
            % (previous, notification_id, originator.encode(), version, topic.encode(), state)
        ).digest()
        append_digest(previous)
        append_key(bytes.fromhex(originator) + version.to_bytes(8, "big"))
    return ChainRow(first_id, first_id + len(rows) - 1, prev_id, b"".join(digests), b"".join(keys))


def _expanded(rows: Sequence[ChainRow], after: int) -> list[HashRow]:
    expanded = [h for row in rows for h in row.expand() if h.notification_id > after]
    expanded.sort(key=lambda h: h.notification_id)
    return expanded


def _chained(row: tuple[Any, ...], containing: Any, previous_of: Any) -> ChainedEvent:
    """An event row (id, originator, version, topic, state) with its chain entry."""
    nid, originator, version, topic, state = row
    nid = int(nid)
    chain = containing(nid)
    digest = chain.digest(nid) if chain is not None else None
    prev_id: int | None = None
    prev_hash: str | None = None
    if chain is not None and digest is not None:
        if nid > chain.first_id:
            prev_id, prev_digest = nid - 1, chain.digest(nid - 1)
        else:
            prev_id = chain.prev_id
            prev_digest = GENESIS if prev_id == 0 else previous_of(prev_id)
        prev_hash = prev_digest.hex() if prev_digest is not None else None
    return ChainedEvent(
        notification_id=nid,
        originator_id=originator_key(originator),
        originator_version=int(version),
        topic=topic,
        state=bytes(state),
        prev_id=prev_id,
        prev_hash=prev_hash,
        hash=digest.hex() if digest is not None else None,
    )


# -- SQLite ---------------------------------------------------------------------------------


class ChainedSQLiteRecorder(SubscribableSQLiteRecorder):
    """The embedded store's recorder, chaining every event it inserts."""

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        require_uuid_ids(datastore)
        # Named before the library's constructor asks for the create statements.
        self.chain_table_name = chain_table = chain_table_for(events_table_name)
        super().__init__(datastore, events_table_name)
        self._insert_chain = f"INSERT INTO {chain_table} VALUES (?,?,?,?,?)"
        self._select_previous = (
            f"SELECT last_id, substr(hashes, -{DIGEST}, {DIGEST}) FROM {chain_table} "
            "WHERE first_id < ? ORDER BY first_id DESC LIMIT 1"
        )
        self._select_containing = (
            f"SELECT * FROM {chain_table} WHERE first_id <= ? ORDER BY first_id DESC LIMIT 1"
        )

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {self.chain_table_name} ("
            "first_id INTEGER PRIMARY KEY, "
            "last_id INTEGER NOT NULL, "
            "prev_id INTEGER NOT NULL, "
            "hashes BLOB NOT NULL, "
            "keys BLOB NOT NULL)",
        ]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        return self._insert_rows(c, event_rows(stored_events))

    def insert_rows(self, rows: Sequence[EventRow]) -> Sequence[int]:
        """Inserts the rows and their chain row in one transaction; returns their ids."""
        with self.datastore.transaction(commit=True) as c:
            ids = self._insert_rows(c, rows)
        self.announce()
        return ids

    def _insert_rows(self, c: SQLiteCursor, rows: Sequence[EventRow]) -> list[int]:
        """Inserts the rows and their chain row; returns the rows' notification ids.

        The first row goes alone, to learn its rowid; the rest in one
        executemany. Without an explicit rowid SQLite gives each new row the
        largest rowid plus one, and this transaction holds the write lock from
        the first INSERT on, so the ids run on from the first (checked with
        `last_insert_rowid()`), and the previous hash read after it is final.
        """
        if not rows:
            return []
        c.execute(self.insert_events_statement, rows[0])
        first: int = c.lastrowid
        count = len(rows)
        if count > 1:
            c.executemany(self.insert_events_statement, rows[1:])
            c.execute("SELECT last_insert_rowid()")
            last = c.fetchone()[0]
            if last != first + count - 1:
                raise ProgrammingError(f"rowids not consecutive: {first}..{last} for {count}")
        c.execute(self._select_previous, (first,))
        row = c.fetchone()
        prev_id, previous = (row[0], bytes(row[1])) if row else (0, GENESIS)
        chain = chain_row(first, prev_id, previous, rows)
        c.execute(
            self._insert_chain,
            (chain.first_id, chain.last_id, chain.prev_id, chain.hashes, chain.keys),
        )
        return list(range(first, first + count))

    # -- reading the chain (rescue.services.audit) --

    def _rows(self, statement: str, params: tuple[Any, ...]) -> list[ChainRow]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, params)
            return [ChainRow(r[0], r[1], r[2], bytes(r[3]), bytes(r[4])) for r in c.fetchall()]

    def select_hashes(self, after: int, limit: int) -> list[HashRow]:
        rows = self._rows(
            f"SELECT * FROM {self.chain_table_name} WHERE last_id > ? ORDER BY first_id LIMIT ?",
            (after, max(1, limit // 16)),
        )
        return _expanded(rows, after)

    def head(self) -> HashRow | None:
        rows = self._rows(
            f"SELECT * FROM {self.chain_table_name} ORDER BY first_id DESC LIMIT 1", ()
        )
        expanded = rows[0].expand() if rows else []
        return expanded[-1] if expanded else None

    def _containing(self, notification_id: int) -> ChainRow | None:
        rows = self._rows(self._select_containing, (notification_id,))
        return rows[0] if rows and rows[0].last_id >= notification_id else None

    def _previous_digest(self, notification_id: int) -> bytes | None:
        row = self._containing(notification_id)
        return row.digest(notification_id) if row else None

    def locate(self, originator_id: str, originator_version: int) -> int | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT rowid FROM {self.events_table_name} "
                "WHERE originator_id = ? AND originator_version = ?",
                (originator_id, originator_version),
            )
            row = c.fetchone()
            return int(row[0]) if row else None

    def select_chained(self, originator_id: UUID) -> list[ChainedEvent]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT rowid, originator_id, originator_version, topic, state "
                f"FROM {self.events_table_name} WHERE originator_id = ? "
                "ORDER BY originator_version",
                (originator_id.hex,),
            )
            events = [tuple(row) for row in c.fetchall()]
        return [_chained(e, self._containing, self._previous_digest) for e in events]


# -- PostgreSQL -----------------------------------------------------------------------------


class ChainedPostgresRecorder(PostgresApplicationRecorder):
    """The PostgreSQL recorder, chaining every event it inserts, under the library's table lock."""

    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        require_uuid_ids(datastore)
        super().__init__(datastore, events_table_name=events_table_name)
        if datastore.enable_db_functions:
            # That path inserts through a database function, not through `insert_events` here.
            raise ProgrammingError("the hash chain needs POSTGRES_ENABLE_DB_FUNCTIONS off")
        schema = Identifier(datastore.schema)
        self.chain_table_name = chain_table_for(self.events_table_name)
        self.chain_table = SQL("{0}.{1}").format(schema, Identifier(self.chain_table_name))
        self.events = SQL("{0}.{1}").format(schema, Identifier(self.events_table_name))
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {0} ("
                "first_id bigint PRIMARY KEY, "
                "last_id bigint NOT NULL, "
                "prev_id bigint NOT NULL, "
                "hashes bytea NOT NULL, "
                "keys bytea NOT NULL)"
            ).format(self.chain_table)
        )
        # The library's start of an insert (its lock timeout, its EXCLUSIVE lock on the
        # events table, its notification), then the chain's last link: read under the lock,
        # so no link can be added after it until this transaction ends. One query, in the
        # simple protocol, which takes several statements.
        select_last_link = SQL(
            "SELECT last_id, substring(hashes from octet_length(hashes) - {1}) AS digest "
            "FROM {0} ORDER BY first_id DESC LIMIT 1"
        ).format(self.chain_table, DIGEST - 1)
        # The statements of every write and every pull are rendered once, here: psycopg
        # renders a composed statement again at each execution.
        self._begin_locked = (
            SQL("; ")
            .join(
                [
                    SQL("BEGIN"),
                    *self.lock_table_statements,
                    SQL("NOTIFY {0}").format(Identifier(self.channel_name)),
                    select_last_link,
                ]
            )
            .as_bytes()
        )
        # The batch's ids, taken from the table's sequence under the lock (every insert takes
        # the lock first, so no other id can be taken in between): `%d` is the batch's size.
        # The chain row can then be made before the insert, and go with it.
        table_name = Identifier(datastore.schema, self.events_table_name).as_string()
        sequence = SQL("pg_get_serial_sequence({0}, 'notification_id')").format(Literal(table_name))
        self._reserve_ids = (
            SQL("; SELECT setval({0}, nextval({0}) + %d - 1)").format(sequence).as_bytes()
        )
        # The events, as arrays in binary, and their chain row, in one statement.
        self._insert_with_chain = (
            SQL(
                "WITH inserted AS (INSERT INTO {0} "
                "(notification_id, originator_id, originator_version, topic, state) "
                "SELECT * FROM unnest(%b::bigint[], %b::uuid[], %b::bigint[], %b::text[], "
                "%b::bytea[])) "
                "INSERT INTO {1} VALUES (%b, %b, %b, %b, %b)"
            )
            .format(self.events, self.chain_table)
            .as_bytes()
        )
        self._select_notifications_after = (
            SQL(
                "SELECT notification_id, originator_id, originator_version, topic, state "
                "FROM {0} WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
            )
            .format(self.events)
            .as_bytes()
        )
        # Each originator's rows are read by one probe of the primary key. As a plain join,
        # the planner thinks a few ids match a large share of the table and hashes the whole
        # table instead: a sequential scan for every batch of GPS fixes, growing with the log
        # (5.7 ms at 36,000 rows, against 0.1-0.25 ms read so). OFFSET 0 keeps the lateral
        # subquery from being merged into a join, so it runs once per id, on the index.
        self._select_after = SQL(
            "SELECT e.originator_id, e.originator_version, e.topic, e.state "
            "FROM unnest(%s::uuid[], %s::bigint[]) AS after(id, version) "
            "CROSS JOIN LATERAL (SELECT originator_id, originator_version, topic, state "
            "FROM {0} AS x WHERE x.originator_id = after.id "
            "AND x.originator_version > after.version OFFSET 0) AS e "
            "ORDER BY e.originator_id, e.originator_version"
        ).format(self.events)

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Inserts the events and their chain row in one transaction; returns their ids."""
        if not stored_events:
            return None
        originators = [e.originator_id for e in stored_events]
        ids: list[int] = self._insert_rows(event_rows(stored_events), originators)
        return ids

    def insert_rows(self, rows: Sequence[EventRow]) -> Sequence[int]:
        """Inserts the rows and their chain row in one transaction; returns their ids."""
        return self._insert_rows(rows, [UUID(row[0]) for row in rows]) if rows else []

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _insert_rows(self, rows: Sequence[EventRow], originators: Sequence[UUID]) -> list[int]:
        """Inserts the rows (a batch of GPS fixes, or events) and their chain row; `originators`
        are the rows' originator ids as UUIDs, which psycopg sends in binary.

        The library's order, under its table lock and with its notification (see
        `_begin_locked`), in two round trips, where the library's pipeline sends its
        statements with four syncs: a GPS batch is one commit, and that pipeline
        cost the writer 120-230 µs more CPU a commit, and the database 45-95 µs
        more, than plain statements (measured with 30 events a commit). The first
        round trip (one simple-protocol query) locks, notifies, reads the chain's
        last link and takes the batch's ids from the table's sequence, so the
        chain row is made before the insert; the second sends the insert of the
        events and their chain row (one statement) and COMMIT together. The
        events go as arrays in binary rather than one array of the library's
        composite type, whose text form psycopg builds byte by byte in Python.
        Retried as the library's is.
        """
        count = len(rows)
        # On any error the connection's context (the pool's) rolls the transaction back.
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            # One simple-protocol query: begin, lock, notify, read the chain's last link
            # (which no other writer can extend until this transaction ends), take the ids.
            curs.execute(self._begin_locked + self._reserve_ids % count)
            selected: list[tuple[Any, ...] | None] = []
            while True:
                if curs.description is not None:
                    selected.append(curs.fetchone())
                if not curs.nextset():
                    break
            # The chain's last link (None while the chain is empty), then the last id taken.
            link, reserved = selected
            if reserved is None:  # setval always answers one row
                raise ProgrammingError("the notification ids could not be taken")
            last_id = int(reserved[0])
            first_id = last_id - count + 1
            ids = list(range(first_id, last_id + 1))
            prev_id, previous = (int(link[0]), bytes(link[1])) if link else (0, GENESIS)
            chain = chain_row(first_id, prev_id, previous, rows)
            # The insert and COMMIT in one round trip (a pipeline of two statements and one
            # sync). If the insert is refused, the COMMIT is skipped and the error raised.
            with conn.pipeline():
                curs.execute(
                    self._insert_with_chain,
                    (
                        ids,
                        originators,
                        [row[1] for row in rows],
                        [row[2] for row in rows],
                        [row[3] for row in rows],
                        chain.first_id,
                        chain.last_id,
                        chain.prev_id,
                        chain.hashes,
                        chain.keys,
                    ),
                    prepare=True,
                )
                curs.execute(b"COMMIT")
        return ids

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        """The library's notifications, read as plain tuples when no stop or topics narrow them.

        Every server process reads every row of the log this way (its live
        subscription), GPS fixes included: a statement rendered once, and rows
        without a dictionary each.
        """
        after = whole_log_after(start, stop, topics, inclusive_of_start)
        if after is None:
            narrowed: Sequence[Notification] = super().select_notifications(
                start, limit, stop, topics, inclusive_of_start=inclusive_of_start
            )
            return narrowed
        found: list[Notification] = self._notifications_after(after, limit)
        return found

    def _notifications_after(self, after: int, limit: int) -> list[Notification]:
        return [
            Notification(
                id=notification_id,
                originator_id=originator_id,
                originator_version=version,
                topic=topic,
                state=bytes(state),
            )
            for notification_id, originator_id, version, topic, state in self._tuples_after(
                after, limit
            )
        ]

    def rows_after(self, after: int, limit: int) -> list[tuple[int, str, int, str, bytes]]:
        """Up to `limit` rows of the log after position `after`, in order, as the SQLite
        recorder's `rows_after` gives them: (notification id, originator id as 32 hex digits,
        version, topic, state), for the read models, which need only the hex id of a GPS
        fix's van and would otherwise make a notification of every row and its id's text."""
        return [
            (notification_id, originator_id.hex, version, topic, bytes(state))
            for notification_id, originator_id, version, topic, state in self._tuples_after(
                after, limit
            )
        ]

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _tuples_after(self, after: int, limit: int) -> list[tuple[Any, ...]]:
        """The log's rows after position `after` as psycopg reads them, one tuple each."""
        with (
            self.datastore.get_connection() as conn,
            conn.cursor(row_factory=tuple_row) as curs,
        ):
            curs.execute(self._select_notifications_after, (after, limit), prepare=True)
            return curs.fetchall()

    def select_after(self, versions: Sequence[tuple[UUID, int]]) -> list[StoredEvent]:
        """The events of each originator after its given version (see RowRecorder)."""
        if not versions:
            return []
        ids = [originator_id for originator_id, _ in versions]
        after = [version for _, version in versions]
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._select_after, (ids, after), prepare=True)
            return [
                StoredEvent(
                    row["originator_id"],
                    row["originator_version"],
                    row["topic"],
                    bytes(row["state"]),
                )
                for row in curs.fetchall()
            ]

    # -- reading the chain (rescue.services.audit) --

    def _rows(self, statement: Any, params: tuple[Any, ...]) -> list[ChainRow]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, params)
            return [
                ChainRow(
                    r["first_id"], r["last_id"], r["prev_id"], bytes(r["hashes"]), bytes(r["keys"])
                )
                for r in curs.fetchall()
            ]

    def select_hashes(self, after: int, limit: int) -> list[HashRow]:
        rows = self._rows(
            SQL("SELECT * FROM {0} WHERE last_id > %s ORDER BY first_id LIMIT %s").format(
                self.chain_table
            ),
            (after, max(1, limit // 16)),
        )
        return _expanded(rows, after)

    def head(self) -> HashRow | None:
        rows = self._rows(
            SQL("SELECT * FROM {0} ORDER BY first_id DESC LIMIT 1").format(self.chain_table), ()
        )
        expanded = rows[0].expand() if rows else []
        return expanded[-1] if expanded else None

    def _containing(self, notification_id: int) -> ChainRow | None:
        rows = self._rows(
            SQL("SELECT * FROM {0} WHERE first_id <= %s ORDER BY first_id DESC LIMIT 1").format(
                self.chain_table
            ),
            (notification_id,),
        )
        return rows[0] if rows and rows[0].last_id >= notification_id else None

    def _previous_digest(self, notification_id: int) -> bytes | None:
        row = self._containing(notification_id)
        return row.digest(notification_id) if row else None

    def locate(self, originator_id: str, originator_version: int) -> int | None:
        try:
            key: UUID | str = UUID(originator_id)
        except ValueError:
            key = originator_id
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                SQL(
                    "SELECT notification_id FROM {0} "
                    "WHERE originator_id = %s AND originator_version = %s"
                ).format(self.events),
                (key, originator_version),
            )
            row = curs.fetchone()
            return int(row["notification_id"]) if row else None

    def select_chained(self, originator_id: UUID) -> list[ChainedEvent]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                SQL(
                    "SELECT notification_id, originator_id, originator_version, topic, state "
                    "FROM {0} WHERE originator_id = %s ORDER BY originator_version"
                ).format(self.events),
                (originator_id,),
            )
            events = [
                (
                    r["notification_id"],
                    r["originator_id"],
                    r["originator_version"],
                    r["topic"],
                    r["state"],
                )
                for r in curs.fetchall()
            ]
        return [_chained(e, self._containing, self._previous_digest) for e in events]
