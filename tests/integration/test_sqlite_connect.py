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
