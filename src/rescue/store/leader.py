"""One process of a store elected for a duty, such as the timers or the read-model runner.

Several server processes share one store; a duty that must run once (offer
timers, the read models) runs in the process that holds its lock. PostgreSQL:
a session advisory lock on a connection kept for the purpose. SQLite: an
exclusive `flock` on a file beside the database. Both are released by the
operating system or the database when the holder dies, so another process
takes the duty over at its next try.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import threading
from pathlib import Path
from typing import Any

from rescue.store.env import store_env

log = logging.getLogger("rescue.store.leader")


def lock_key(duty: str) -> int:
    """A stable signed 64-bit advisory lock key for a duty's name."""
    digest = hashlib.sha256(f"rescue:{duty}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class Leadership:
    """Whether this process holds the lock of `duty` on the store at `url`.

    `held()` tries to take the lock when it is not held yet, so calling it
    at each round of a duty's loop is how a process takes over from one that died.
    """

    def __init__(self, url: str, duty: str, *, key: int | None = None) -> None:
        self.duty = duty
        self._url = url
        self._key = lock_key(duty) if key is None else key
        self._lock = threading.Lock()
        self._conn: Any = None  # PostgreSQL: the session that holds the lock
        self._fd: int | None = None  # SQLite: the locked file
        self._held = False
        env = store_env(url)
        self._sqlite_path = env.get("SQLITE_DBNAME")

    def held(self) -> bool:
        with self._lock:
            if self._held and self._conn is not None and not self._session_alive():
                self._held = False  # the database dropped the session, and the lock with it
            if not self._held:
                self._held = self._take()
                if self._held:
                    log.info("process %d now runs %s", os.getpid(), self.duty)
            return self._held

    def release(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            if self._fd is not None:
                os.close(self._fd)  # closing the file releases its flock
                self._fd = None
            self._held = False

    def _session_alive(self) -> bool:
        import psycopg

        try:
            self._conn.execute("SELECT 1")
        except psycopg.Error:
            self._conn.close()
            self._conn = None
            return False
        return True

    def _take(self) -> bool:
        if self._sqlite_path is not None:
            return self._take_file(self._sqlite_path)
        return self._take_advisory()

    def _take_file(self, db_path: str) -> bool:
        if db_path == ":memory:" or db_path.startswith("file::memory:"):
            return True  # a store of this process alone
        if self._fd is None:
            path = Path(f"{db_path}.{self.duty}.lock")
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _take_advisory(self) -> bool:
        import psycopg

        try:
            if self._conn is None:
                self._conn = psycopg.connect(self._url, autocommit=True)
            row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self._key,)).fetchone()
        except psycopg.Error:
            # The server is unreachable or restarted (a lock goes with its
            # session): not the leader now; a later try connects again.
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            return False
        return bool(row and row[0])
