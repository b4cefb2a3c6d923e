"""The key table: one AES key per caller, kept wrapped by the master key, beside the log.

Each caller's name and phone are sealed with that caller's own key, so
destroying the key (an erasure) leaves their events in the log, the hash
chain intact, and the data unreadable for good. The table lives in the
store's own database (SQLite file or PostgreSQL database):

- `caller_keys(key_id, lookup, wrapped, master)`: a random key id (the one
  the sealed value names), the caller's phone as a keyed hash (to find their
  key again without storing the number), the key sealed with the master key,
  and the fingerprint of the master key that sealed it.
- `caller_key_meta(name, value)`: the master key's fingerprint, the secret of
  the phone hash and the key of values sealed before per-caller keys existed
  (`legacy`), both wrapped by the master key.
- `erased_sealed(digest)`: values sealed with that shared legacy key whose
  caller was erased; they cannot be shredded alone, so they are withheld.

Nothing is cached between calls: an erasure or a rotation made by another
process is seen by the next read. A row wrapped under another master key
(a rotation by another process) raises `WrongMasterKey` instead of returning
garbage; a database that cannot be reached raises `Unavailable`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from eventsourcing.cipher import AESCipher
from eventsourcing.utils import Environment

from rescue.domain.errors import Unavailable
from rescue.store.env import is_sqlite
from rescue.store.sql import connect, schema_transaction, transaction

KEY_BYTES = 32


class WrongMasterKey(Unavailable):
    """The configured key is not the master key the key table is wrapped with."""


def fingerprint(master_key: str) -> str:
    """A short public name of a master key: which key wrapped a row, without revealing it."""
    digest = hmac.new(base64.b64decode(master_key), b"rescue master key", hashlib.sha256)
    return digest.hexdigest()[:16]


def _cipher(key: str) -> AESCipher:
    return AESCipher(Environment(env={AESCipher.CIPHER_KEY: key}))


def wrap(master_key: str, key: str) -> str:
    return base64.b64encode(_cipher(master_key).encrypt(key.encode("ascii"))).decode("ascii")


def unwrap(master_key: str, wrapped: str) -> str:
    return _cipher(master_key).decrypt(base64.b64decode(wrapped)).decode("ascii")


class CallerKeys:
    """The key table of the store at `url`, used with one master key.

    Tables are created on first use. Calls are serialised on one connection
    (reopened after a PostgreSQL restart); each write is one short transaction.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.sqlite = is_sqlite(url)
        self._lock = threading.Lock()
        self._conn: Any = None
        self._ready = False
        # The phone hash's secret and the legacy key: unwrapped once, as a rotation
        # re-wraps them but never changes them.
        self._secrets: dict[str, str] = {}

    # -- the operations ------------------------------------------------------------

    def key_for(self, master_key: str, phone: str) -> tuple[str, str]:
        """The caller's key id and key, created (and wrapped) on their first call."""
        lookup = self.lookup(master_key, phone)
        select = self._sql("SELECT key_id, wrapped, master FROM caller_keys WHERE lookup = ?")
        # A caller who called before: one read, without the write lock.
        with self._transaction(master_key, write=False) as cur:
            cur.execute(select, (lookup,))
            row = cur.fetchone()
        if row is not None:
            return str(row[0]), self._unwrap(master_key, str(row[1]), str(row[2]))
        with self._transaction(master_key) as cur:
            # A key wrapped under a master key the table no longer has would be lost.
            self._check_master(cur, master_key)
            cur.execute(select, (lookup,))
            row = cur.fetchone()
            if row is None:
                key_id, key = uuid.uuid4().hex, AESCipher.create_key(KEY_BYTES)
                # Two first calls of one caller at once: the unique lookup keeps one key.
                cur.execute(
                    self._sql(
                        "INSERT INTO caller_keys (key_id, lookup, wrapped, master) "
                        "VALUES (?, ?, ?, ?) ON CONFLICT (lookup) DO NOTHING"
                    ),
                    (key_id, lookup, wrap(master_key, key), fingerprint(master_key)),
                )
                cur.execute(
                    self._sql("SELECT key_id, wrapped, master FROM caller_keys WHERE lookup = ?"),
                    (lookup,),
                )
                row = cur.fetchone()
        return str(row[0]), self._unwrap(master_key, str(row[1]), str(row[2]))

    def key(self, master_key: str, key_id: str) -> str | None:
        """The key with this id, or None once it was destroyed."""
        with self._transaction(master_key, write=False) as cur:
            cur.execute(
                self._sql("SELECT wrapped, master FROM caller_keys WHERE key_id = ?"), (key_id,)
            )
            row = cur.fetchone()
        return None if row is None else self._unwrap(master_key, str(row[0]), str(row[1]))

    def legacy_key(self, master_key: str) -> str:
        """The key that sealed values written before per-caller keys (the first master key)."""
        return self._cached_secret(master_key, "legacy")

    def lookup(self, master_key: str, phone: str) -> str:
        """The phone as stored in the table: a keyed hash, useless without the master key."""
        secret = self._cached_secret(master_key, "lookup")
        return hmac.new(secret.encode("ascii"), phone.encode(), hashlib.sha256).hexdigest()

    def destroy(self, master_key: str, phone: str) -> int:
        """Deletes the caller's keys; returns how many there were (0 or 1)."""
        lookup = self.lookup(master_key, phone)
        with self._transaction(master_key) as cur:
            cur.execute(self._sql("DELETE FROM caller_keys WHERE lookup = ?"), (lookup,))
            return max(int(cur.rowcount), 0)

    def withhold(self, master_key: str, sealed: Sequence[str]) -> None:
        """Marks values sealed with the shared legacy key as erased."""
        with self._transaction(master_key) as cur:
            cur.executemany(
                self._sql("INSERT INTO erased_sealed (digest) VALUES (?) ON CONFLICT DO NOTHING"),
                [(_digest(s),) for s in sealed],
            )

    def withheld(self, master_key: str, sealed: str) -> bool:
        with self._transaction(master_key, write=False) as cur:
            cur.execute(
                self._sql("SELECT 1 FROM erased_sealed WHERE digest = ?"), (_digest(sealed),)
            )
            return cur.fetchone() is not None

    def rotate(self, old_master: str, new_master: str) -> int:
        """Re-wraps every key and secret under `new_master` in one transaction; returns the count.

        The events are not touched: they name key ids, not the master key.
        """
        new_print = fingerprint(new_master)
        with self._transaction(old_master) as cur:
            cur.execute("SELECT key_id, wrapped, master FROM caller_keys")
            rows = cur.fetchall()
            rewrapped = [
                (wrap(new_master, self._unwrap(old_master, str(w), str(m))), new_print, str(k))
                for k, w, m in rows
            ]
            cur.executemany(
                self._sql("UPDATE caller_keys SET wrapped = ?, master = ? WHERE key_id = ?"),
                rewrapped,
            )
            for name in ("lookup", "legacy"):
                secret = self._secret(cur, old_master, name)
                self._set_meta(cur, name, wrap(new_master, secret))
            self._set_meta(cur, "master", new_print)
        return len(rewrapped)

    def count(self) -> int:
        with self._transaction(None) as cur:
            cur.execute("SELECT COUNT(*) FROM caller_keys")
            return int(cur.fetchone()[0])

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- plumbing ------------------------------------------------------------------

    def _unwrap(self, master_key: str, wrapped: str, master: str) -> str:
        if master != fingerprint(master_key):
            raise WrongMasterKey(
                f"caller keys are wrapped under master key {master}, this process has "
                f"{fingerprint(master_key)}: the key was rotated; restart with the new key"
            )
        return unwrap(master_key, wrapped)

    def _check_master(self, cur: Any, master_key: str) -> None:
        stored = self._meta(cur, "master")
        if stored != fingerprint(master_key):
            raise WrongMasterKey(
                f"the key table of this store is wrapped under master key {stored}, "
                f"the configured key is {fingerprint(master_key)}: use the key the store was "
                "last rotated to (`rescue key rotate` prints its fingerprint)"
            )

    def _cached_secret(self, master_key: str, name: str) -> str:
        if name not in self._secrets:
            with self._transaction(master_key, write=False) as cur:
                self._secrets[name] = self._secret(cur, master_key, name)
        return self._secrets[name]

    def _secret(self, cur: Any, master_key: str, name: str) -> str:
        self._check_master(cur, master_key)
        return unwrap(master_key, self._meta(cur, name))

    def _meta(self, cur: Any, name: str) -> str:
        cur.execute(self._sql("SELECT value FROM caller_key_meta WHERE name = ?"), (name,))
        return str(cur.fetchone()[0])

    def _set_meta(self, cur: Any, name: str, value: str) -> None:
        cur.execute(
            self._sql(
                "INSERT INTO caller_key_meta (name, value) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value"
            ),
            (name, value),
        )

    def _sql(self, statement: str) -> str:
        return statement if self.sqlite else statement.replace("?", "%s")

    @contextmanager
    def _transaction(self, master_key: str | None, *, write: bool = True) -> Iterator[Any]:
        """A cursor in one transaction; with `write=False`, plain autocommitted reads.

        Reads do not take SQLite's write lock, so reading a caller never waits
        for (or holds up) the writers of the log.
        """
        with self._lock:
            try:
                if self._conn is None or (not self.sqlite and self._conn.closed):
                    self._conn = connect(self.url)
                if not self._ready:
                    with schema_transaction(self._conn, self.sqlite) as cur:
                        self._create(cur, master_key)
                if write:
                    with transaction(self._conn, self.sqlite) as cur:
                        yield cur
                else:
                    cur = self._conn.cursor()
                    try:
                        yield cur
                    finally:
                        cur.close()
            except _UNREACHABLE as error:
                if self._conn is not None and not self.sqlite and self._conn.closed:
                    self._conn = None
                raise Unavailable(f"the key table cannot be reached: {error}") from error

    def _create(self, cur: Any, master_key: str | None) -> None:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS caller_keys (key_id TEXT PRIMARY KEY, "
            "lookup TEXT NOT NULL UNIQUE, wrapped TEXT NOT NULL, master TEXT NOT NULL)"
        )
        cur.execute(
            "CREATE TABLE IF NOT EXISTS caller_key_meta "
            "(name TEXT PRIMARY KEY, value TEXT NOT NULL)"
        )
        cur.execute("CREATE TABLE IF NOT EXISTS erased_sealed (digest TEXT PRIMARY KEY)")
        if master_key is None:
            return
        # The first master key is also the key every value sealed before
        # per-caller keys was sealed with: it is kept, wrapped, as `legacy`.
        # Two processes creating the table at once: the first one's rows stay.
        for name, value in (
            ("master", fingerprint(master_key)),
            ("lookup", wrap(master_key, AESCipher.create_key(KEY_BYTES))),
            ("legacy", wrap(master_key, master_key)),
        ):
            cur.execute(
                self._sql(
                    "INSERT INTO caller_key_meta (name, value) VALUES (?, ?) "
                    "ON CONFLICT (name) DO NOTHING"
                ),
                (name, value),
            )
        self._check_master(cur, master_key)
        self._ready = True


def _digest(sealed: str) -> str:
    return hashlib.sha256(sealed.encode("ascii")).hexdigest()


def _unreachable() -> tuple[type[Exception], ...]:
    import psycopg

    return (sqlite3.OperationalError, psycopg.OperationalError)


_UNREACHABLE = _unreachable()
