"""The caller's name and phone are sealed: not in plain text in the SQLite file or PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import httpx
import psycopg

from tests.e2e.test_incident_life import report_body
from tests.live import LiveServer, bearer
from tests.support import sqlite_path_of

NAME, PHONE = "欧阳娜娜", "13712345678"


def stored_bytes(db: str) -> bytes:
    if db.startswith("sqlite"):
        path = sqlite_path_of(db)
        # The write-ahead log holds recent pages before a checkpoint: read it too.
        files = [path, Path(f"{path}-wal")]
        return b"".join(f.read_bytes() for f in files if f.exists())
    with psycopg.connect(db) as conn:
        tables = [
            r[0]
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        dump = b""
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                dump += repr(row).encode() + b"".join(
                    bytes(v) for v in row if isinstance(v, bytes | memoryview)
                )
        return dump


def test_caller_is_not_stored_in_plain_text(server: tuple[LiveServer, dict[str, str]]) -> None:
    live, tokens = server
    with httpx.Client(base_url=live.url, timeout=30) as http:
        # 1. Record a call; the operator reads the caller back in the clear.
        created = http.post(
            "/api/incidents", json=report_body(NAME, PHONE), headers=bearer(tokens["op"])
        )
        assert created.status_code == 201
        shown = http.get(
            f"/api/incidents/{created.json()['incident_id']}", headers=bearer(tokens["op"])
        )
        assert shown.json()["caller"] == {"name": NAME, "phone": PHONE}
    live.stop()
    # 2. The stored bytes hold the vehicle (a control: the scan does see event data) ...
    stored = stored_bytes(live.db)
    assert b"LJNTGU2S" in stored
    # 3. ... but neither the name nor the phone, in any encoding JSON might use.
    for secret in (NAME.encode(), NAME.encode("unicode_escape"), PHONE.encode()):
        assert secret not in stored
    assert b"\\u6b27\\u9633" not in stored
