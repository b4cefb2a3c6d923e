"""Backups of the store taken while servers keep writing, and restoring one into a new store.

SQLite: the database is in WAL mode, so copying the file (`cp`) can miss
committed pages that are still in `-wal`, or catch a page mid-write. The copy
here is made with SQLite's online backup API in a single step, inside one read
transaction: a snapshot of the database as of one commit, taken while writers
go on (in WAL mode readers and writers do not block each other). The copy is
written beside its destination, checked (`PRAGMA quick_check`), switched to
rollback-journal mode so that it is one self-contained file, and only then
renamed into place. Restoring goes the other way through the same API, into
the target database through SQLite's own locking.

PostgreSQL: `pg_dump --format=custom` (one transaction, a consistent snapshot,
online) and `pg_restore` into an empty database, when the client tools are on
PATH. The password is handed to them in the environment, not on the command
line where other users could read it.

Either way the copy holds a prefix of the log: every event committed before
the snapshot, nothing after it, and the read models as they were then.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from rescue.store.env import is_sqlite, store_env, store_environment

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


class BackupError(Exception):
    """The backup or restore was not made; the message says why and what to do."""


@dataclass(frozen=True)
class LogHead:
    """The last event of a store's log and its chain hash (None for an empty log)."""

    notification_id: int
    hash: str | None

    def describe(self) -> str:
        if self.hash is None:
            return "empty log"
        return f"log head {self.notification_id}:{self.hash}"


def log_head(url: str) -> LogHead:
    """The head of the store's log, read through the chained recorder."""
    from eventsourcing.persistence import InfrastructureFactory

    # Read only: no tables are created in a file that is not a store.
    factory = InfrastructureFactory.construct(store_environment(url, CREATE_TABLE="no"))
    try:
        recorder: Any = factory.application_recorder()
        head = recorder.head()
    finally:
        factory.close()
    if head is None:
        return LogHead(0, None)
    return LogHead(head.notification_id, head.hash)


def backup(url: str, to: Path, *, replace: bool = False) -> LogHead | None:
    """Writes a consistent copy of the store at `url` to the file `to`.

    Returns the head of the copied log where it can be read without a restore (SQLite).
    """
    if to.exists() and not replace:
        raise BackupError(f"{to} exists already; choose another name or pass --force")
    to.parent.mkdir(parents=True, exist_ok=True)
    if is_sqlite(url):
        return _backup_sqlite(_sqlite_path(url), to)
    _pg_dump(url, to)
    return None


def restore(source: Path, url: str, *, replace: bool = False) -> None:
    """Loads the backup `source` into the store at `url`, which must be empty unless `replace`."""
    if not source.is_file():
        raise BackupError(f"no backup file at {source}")
    with source.open("rb") as file:
        magic = file.read(len(SQLITE_MAGIC))
    if is_sqlite(url):
        if not magic.startswith(SQLITE_MAGIC):
            raise BackupError(f"{source} is not a SQLite backup (made by `rescue backup`)")
        _restore_sqlite(source, _sqlite_path(url), replace)
    else:
        if not magic.startswith(PG_DUMP_MAGIC):
            raise BackupError(f"{source} is not a pg_dump archive (made by `rescue backup`)")
        _pg_restore(source, url, replace)


# -- SQLite ---------------------------------------------------------------------------------


def _sqlite_path(url: str) -> Path:
    return Path(store_env(url)["SQLITE_DBNAME"])


def _connect(path: Path, mode: str) -> sqlite3.Connection:
    # mode=rw: a mistyped source is an error, not a new empty database.
    return sqlite3.connect(f"file:{path}?mode={mode}", uri=True, timeout=30)


def _sqlite_url(path: Path) -> str:
    return "sqlite:///" + str(path.resolve())


def _backup_sqlite(source: Path, to: Path) -> LogHead:
    if not source.is_file():
        raise BackupError(f"no SQLite database at {source}")
    if to.resolve() == source.resolve():
        raise BackupError("the backup must go to another file than the database")
    partial = to.with_name(f".{to.name}.partial")
    _remove_sqlite_files(partial)
    try:
        live = _connect(source, "rw")
        copy = sqlite3.connect(partial)
        try:
            # pages=-1: everything in one step, so one read transaction: one snapshot.
            live.backup(copy, pages=-1)
        finally:
            copy.close()
            live.close()
        head = log_head(_sqlite_url(partial))
        with closing(sqlite3.connect(partial)) as copy:
            # One self-contained file: no -wal beside it to lose when it is moved.
            copy.execute("PRAGMA journal_mode=DELETE")
            _check(copy, partial)
        _fsync(partial)
        os.replace(partial, to)
        return head
    except sqlite3.Error as error:
        raise BackupError(f"backup of {source} failed: {error}") from error
    finally:
        _remove_sqlite_files(partial)


def _remove_sqlite_files(path: Path) -> None:
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)


def _restore_sqlite(source: Path, target: Path, replace: bool) -> None:
    if target.exists() and _holds_events(target) and not replace:
        raise BackupError(
            f"{target} holds events already; restore into a new file, or stop every "
            "server using it and pass --force to replace it"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        backup_file = _connect(source, "ro")
        live = sqlite3.connect(target, timeout=30)
        try:
            _check(backup_file, source)
            # Through SQLite, not a file copy: the target's own -wal is then dealt with.
            backup_file.backup(live, pages=-1)
            _check(live, target)
        finally:
            live.close()
            backup_file.close()
    except sqlite3.Error as error:
        raise BackupError(f"restore into {target} failed: {error}") from error


def _holds_events(path: Path) -> bool:
    with _connect(path, "ro") as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return any(
            conn.execute(f'SELECT 1 FROM "{table}" LIMIT 1').fetchone() is not None
            for table in tables
            if table.endswith("events")
        )


def _check(conn: sqlite3.Connection, path: Path) -> None:
    result = conn.execute("PRAGMA quick_check").fetchone()
    if result is None or result[0] != "ok":
        raise BackupError(f"{path} failed SQLite's integrity check: {result}")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- PostgreSQL -----------------------------------------------------------------------------


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not on PATH: install the PostgreSQL client tools (Debian: "
            "postgresql-client, the same major version as the server), or run it yourself "
            "as the README's Backup and restore section shows"
        )
    return found


def _without_password(url: str) -> tuple[str, dict[str, str]]:
    """The URL without its password, and the environment that supplies it instead."""
    parts = urlsplit(url)
    env = dict(os.environ)
    if parts.password is not None:
        env["PGPASSWORD"] = unquote(parts.password)
        netloc = parts.hostname or ""
        if ":" in netloc:  # an IPv6 address
            netloc = f"[{netloc}]"
        if parts.port is not None:
            netloc = f"{netloc}:{parts.port}"
        if parts.username is not None:
            netloc = f"{parts.username}@{netloc}"
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts._replace(scheme="postgresql")), env


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{what} failed ({Path(command[0]).name}): {done.stderr.strip()}")


def _pg_dump(url: str, to: Path) -> None:
    dsn, env = _without_password(url)
    partial = to.with_name(f".{to.name}.partial")
    try:
        _run(
            [_tool("pg_dump"), "--format=custom", f"--file={partial}", f"--dbname={dsn}"],
            env,
            "pg_dump",
        )
        _fsync(partial)
        os.replace(partial, to)
    finally:
        partial.unlink(missing_ok=True)


def _pg_restore(source: Path, url: str, replace: bool) -> None:
    import psycopg

    dsn, env = _without_password(url)
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone()
    if tables and tables[0] and not replace:
        raise BackupError(
            "the target database has tables already; restore into a new database "
            "(createdb), or stop every server using it and pass --force to replace them"
        )
    command = [
        _tool("pg_restore"),
        "--no-owner",
        "--no-acl",
        "--exit-on-error",
        "--single-transaction",
        f"--dbname={dsn}",
    ]
    if replace:
        command += ["--clean", "--if-exists"]
    _run([*command, str(source)], env, "pg_restore")


__all__ = ["BackupError", "LogHead", "backup", "log_head", "restore"]
