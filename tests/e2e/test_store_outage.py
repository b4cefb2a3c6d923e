"""PostgreSQL refusing connections: /healthz says not ready, writes get 503, nothing is lost."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
from psycopg import sql

from rescue.privacy import new_key
from rescue.settings import Settings
from tests.e2e.conftest import NETWORK, USERS
from tests.e2e.test_incident_life import report_body
from tests.live import LiveServer, bearer, seed
from tests.support import free_port


def _admin_url(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts._replace(path="/rescue").geturl(), parts.path.strip("/")


def _set_connections(url: str, allowed: bool) -> None:
    admin, name = _admin_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS {}").format(
                sql.Identifier(name), sql.SQL("true" if allowed else "false")
            )
        )
        if not allowed:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )


@pytest.mark.postgres
def test_an_unreachable_store_is_reported_and_nothing_acknowledged_is_lost(
    postgres_url: str, tmp_path: Path
) -> None:
    key = new_key()
    tokens = seed(Settings(db=postgres_url, cipher_key=key), NETWORK, USERS)
    live = LiveServer(postgres_url, key, free_port(), tmp_path / "s.log").start()
    op = bearer(tokens["op"])
    try:
        with httpx.Client(base_url=live.url, timeout=90) as http:
            before = http.post("/api/incidents", json=report_body(), headers=op)
            assert before.status_code == 201
            # 1. The database stops taking connections (and drops the open ones).
            _set_connections(postgres_url, allowed=False)
            health = http.get("/healthz")
            assert health.status_code == 503
            assert health.headers["Retry-After"] == "1"
            # 2. A call taken meanwhile is refused with 503 and a retry hint, not lost
            #    silently and never a 500.
            during = http.post(
                "/api/incidents",
                json=report_body(),
                headers={**op, "Idempotency-Key": "during-outage"},
            )
            assert during.status_code == 503, during.text
            # 3. The database comes back: ready again, and the retry is recorded once.
            _set_connections(postgres_url, allowed=True)
            deadline = time.monotonic() + 30
            while http.get("/healthz").status_code != 200:
                assert time.monotonic() < deadline, "not ready again after the outage"
                time.sleep(0.2)
            retried = http.post(
                "/api/incidents",
                json=report_body(),
                headers={**op, "Idempotency-Key": "during-outage"},
            )
            assert retried.status_code == 201
            again = http.post(
                "/api/incidents",
                json=report_body(),
                headers={**op, "Idempotency-Key": "during-outage"},
            )
            assert again.json() == retried.json()
            listed = http.get("/api/incidents", headers=op).json()
            ids = {i["incident_id"] for i in listed}
            assert {before.json()["incident_id"], retried.json()["incident_id"]} <= ids
            assert len(ids) == 2
    finally:
        _set_connections(postgres_url, allowed=True)
        live.stop()
