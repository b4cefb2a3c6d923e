"""The store fixtures give a usable, empty database on both SQLite and PostgreSQL."""

from __future__ import annotations

import socket
import sqlite3
from contextlib import closing
from pathlib import Path

from tests.support import free_port, sqlite_path_of, sqlite_url_for


def test_store_url_is_a_usable_empty_database(store_url: str) -> None:
    if store_url.startswith("sqlite:"):
        path = sqlite_path_of(store_url)
        assert path.is_absolute()
        assert not path.exists()
        with closing(sqlite3.connect(path)) as conn, conn:
            conn.execute("CREATE TABLE probe (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
            conn.execute("INSERT INTO probe (name) VALUES ('van')")
            assert conn.execute("SELECT name FROM probe").fetchall() == [("van",)]
        assert path.exists()
    else:
        import psycopg

        assert store_url.startswith("postgresql://")
        with psycopg.connect(store_url) as conn:
            row = conn.execute("SELECT current_database()").fetchone()
            assert row is not None and row[0].startswith("t_")
            tables = conn.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
            ).fetchone()
            assert tables == (0,)
            conn.execute("CREATE TABLE probe (id SERIAL PRIMARY KEY, name TEXT NOT NULL)")
            conn.execute("INSERT INTO probe (name) VALUES ('van')")
            assert conn.execute("SELECT name FROM probe").fetchall() == [("van",)]


def test_sqlite_url_for_has_four_slashes(tmp_path: Path) -> None:
    url = sqlite_url_for(tmp_path / "rescue.db")
    assert url.startswith("sqlite:////")
    assert sqlite_path_of(url) == (tmp_path / "rescue.db").resolve()


def test_free_port_is_bindable() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
