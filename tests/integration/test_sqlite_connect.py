"""Connections beside the log (rescue.store.sql.connect) opened at once on a fresh SQLite file:
each turns WAL on or finds it on, and none is answered "database is locked"."""

from __future__ import annotations

import threading
from pathlib import Path

from rescue.store.sql import connect

ROUNDS = 100
AT_ONCE = 8


def test_connections_opened_at_once_on_a_fresh_file_all_get_wal(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    modes: list[str] = []
    for round_ in range(ROUNDS):
        url = f"sqlite:///{tmp_path}/fresh-{round_}.db"
        start = threading.Barrier(AT_ONCE)

        def open_one(url: str = url, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                conn = connect(url)
            except BaseException as error:  # collected for the assertion below
                errors.append(error)
                return
            try:
                modes.append(str(conn.execute("PRAGMA journal_mode").fetchone()[0]))
            finally:
                conn.close()

        threads = [threading.Thread(target=open_one) for _ in range(AT_ONCE)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert modes == ["wal"] * (ROUNDS * AT_ONCE)


def test_every_connection_that_writes_the_file_spaces_its_checkpoints(tmp_path: Path) -> None:
    """The log's pool and the tables beside it copy the log back at the same length: one
    left at SQLite's default would do it on each of its commits once the log is longer."""
    from rescue.services.store import RescueStore
    from rescue.store.sqlite_datastore import CHECKPOINT_PAGES

    url = f"sqlite:///{tmp_path}/store.db"
    store = RescueStore(url)
    try:
        with store.recorder.datastore.transaction(commit=False) as cursor:  # type: ignore[attr-defined]
            cursor.execute("PRAGMA wal_autocheckpoint")
            assert cursor.fetchone()[0] == CHECKPOINT_PAGES
    finally:
        store.close()
    beside = connect(url)
    try:
        assert beside.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == CHECKPOINT_PAGES
    finally:
        beside.close()
    assert CHECKPOINT_PAGES > 1000
