"""The store failing under a running server: PostgreSQL refusing connections, SQLite locked.

Either way a request answers 503 with Retry-After (never a 500, never a long
hang), records nothing, and the same request retried with its key once the
store is back is recorded exactly once; the read models catch up afterwards.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
from psycopg import sql
from websockets.sync.client import ClientConnection, connect

from rescue.bootstrap import bootstrap
from rescue.domain.ids import track_uuid
from rescue.settings import Settings
from rescue.store.privacy import new_key
from tests.e2e.conftest import NETWORK, USERS
from tests.e2e.test_incident_life import report_body
from tests.e2e.test_live_feeds import receive, until, ws_url
from tests.live import LiveServer, bearer, seed
from tests.support import free_port, sqlite_path_of

REPAIR_VAN = NETWORK.vans[1].van_id
# A client's patience: long enough for any sane answer, short of the library's old
# ten retries of a connection to a server that is down (about fifty seconds).
CLIENT_TIMEOUT_S = 30


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


@contextmanager
def postgres_refusing(url: str) -> Iterator[None]:
    """The database stops taking connections and drops the open ones, then comes back."""
    _set_connections(url, allowed=False)
    try:
        yield
    finally:
        _set_connections(url, allowed=True)


@contextmanager
def sqlite_locked(url: str) -> Iterator[sqlite3.Connection]:
    """Another process holds the write lock of the SQLite file (an open EXCLUSIVE transaction)."""
    holder = sqlite3.connect(sqlite_path_of(url), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        yield holder
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def _step(ws: ClientConnection, ref: int, incident_id: str, key: str) -> dict[str, Any]:
    """An accept over the crew socket; returns its ack."""
    ws.send(
        json.dumps(
            {
                "type": "step",
                "ref": ref,
                "incident_id": incident_id,
                "action": "accept",
                "data": {"eta_min": 9},
                "key": key,
            }
        )
    )
    ack, _ = until(ws, lambda m: m.get("type") == "ack" and m.get("ref") == ref, CLIENT_TIMEOUT_S)
    return ack


def _until_stored(send: Callable[[], tuple[int, Any]], ok: int) -> tuple[int, Any]:
    """Sends again, as a client obeying Retry-After would, until the store takes it."""
    deadline = time.monotonic() + 60
    while True:
        status, body = send()
        if status != 503:
            assert status == ok, body
            return status, body
        assert time.monotonic() < deadline, f"still 503 a minute after the store came back: {body}"
        time.sleep(1)  # the Retry-After the server sends


def _run_outage(
    live: LiveServer, tokens: dict[str, str], fault: Callable[[], Any], reads_fail: bool
) -> dict[str, float]:
    op, crew = bearer(tokens["op"]), bearer(tokens["crew-repair"])
    fixes = [
        {
            "lat": 34.75,
            "lon": 113.6 + n / 1000,
            "recorded_at": (datetime.now(UTC) - timedelta(minutes=5, seconds=-n)).isoformat(),
        }
        for n in range(3)
    ]
    durations: dict[str, float] = {}
    with (
        httpx.Client(base_url=live.url, timeout=CLIENT_TIMEOUT_S) as http,
        connect(ws_url(live, "/ws/crew", token=tokens["crew-repair"])) as ws,
        ThreadPoolExecutor(4) as pool,
    ):
        assert receive(ws)["type"] == "snapshot"
        # 1. Before: a call taken and offered to HQ's repair van.
        before = http.post("/api/incidents", json=report_body(), headers=op)
        assert before.status_code == 201
        offered_id = before.json()["incident_id"]
        offered = http.post(f"/api/incidents/{offered_id}/dispatch", json={}, headers=op)
        assert offered.json()["van_id"] == REPAIR_VAN

        def call() -> tuple[int, Any]:
            answer = http.post(
                "/api/incidents", json=report_body(), headers={**op, "Idempotency-Key": "call"}
            )
            assert answer.status_code != 503 or answer.headers["Retry-After"] == "1"
            return answer.status_code, answer.json()

        def gps() -> tuple[int, Any]:
            answer = http.post(
                f"/api/vans/{REPAIR_VAN}/positions",
                json=fixes,
                headers={**crew, "Idempotency-Key": "gps"},
            )
            assert answer.status_code != 503 or answer.headers["Retry-After"] == "1"
            return answer.status_code, answer.json()

        def accept() -> tuple[int, Any]:
            ack = _step(ws, int(time.monotonic() * 1000), offered_id, "accept")
            return int(ack["status"]), ack["body"]

        def listing() -> tuple[int, Any]:
            answer = http.get("/api/incidents", headers=op)
            return answer.status_code, answer.json()

        def timed(name: str, send: Callable[[], tuple[int, Any]]) -> tuple[int, Any]:
            started = time.monotonic()
            try:
                return send()
            finally:
                durations[name] = round(time.monotonic() - started, 2)

        # 2. The store fails: every write is refused with 503 (never a 500), the
        #    readiness check says so, and reads either work or are refused alike.
        with fault():
            writes = [
                pool.submit(timed, name, send)
                for name, send in (("call", call), ("gps", gps), ("accept", accept))
            ]
            read = timed("list", listing)
            assert [w.result()[0] for w in writes] == [503, 503, 503]
            assert read[0] == (503 if reads_fail else 200), read
            if reads_fail:
                health = http.get("/healthz")
                assert (health.status_code, health.headers["Retry-After"]) == (503, "1")

        # 3. The store is back: each request retried with its key is taken, once.
        first = {
            "call": _until_stored(call, 201),
            "gps": _until_stored(gps, 202),
            "accept": _until_stored(accept, 200),
        }
        assert call() == first["call"]
        assert gps() == first["gps"]
        assert accept() == first["accept"]
        listed = {i["incident_id"]: i["status"] for i in listing()[1]}
        assert listed == {offered_id: "accepted", first["call"][1]["incident_id"]: "reported"}
        # 4. The read models carry on from where they were: the board shows both calls.
        deadline = time.monotonic() + 30
        while True:
            board = http.get("/api/views/board", headers=op)
            shown = {i["incident_id"]: i["status"] for i in board.json().get("incidents", [])}
            if board.status_code == 200 and shown == listed:
                break
            assert time.monotonic() < deadline, f"read models not caught up: {board.text[:300]}"
            time.sleep(0.2)
    live.stop()
    # 5. In the log: the three GPS fixes once, nothing else on the track.
    app = bootstrap(Settings(db=live.db, cipher_key=live.key))
    try:
        assert app.store.repository.get(track_uuid(REPAIR_VAN)).version == 1 + len(fixes)
    finally:
        app.close()
    return durations


def _started(url: str, tmp_path: Path) -> tuple[LiveServer, dict[str, str]]:
    key = new_key()
    tokens = seed(Settings(db=url, cipher_key=key), NETWORK, USERS)
    return LiveServer(url, key, free_port(), tmp_path / "s.log").start(), tokens


@pytest.mark.postgres
def test_postgres_refusing_connections_gets_503_then_each_retry_recorded_once(
    postgres_url: str, tmp_path: Path
) -> None:
    live, tokens = _started(postgres_url, tmp_path)
    try:
        durations = _run_outage(
            live, tokens, lambda: postgres_refusing(postgres_url), reads_fail=True
        )
        print(f"seconds to a 503 while PostgreSQL refused connections: {durations}")
    finally:
        _set_connections(postgres_url, allowed=True)
        live.stop()


def test_a_locked_sqlite_file_gets_503_then_each_retry_recorded_once(
    sqlite_url: str, tmp_path: Path
) -> None:
    live, tokens = _started(sqlite_url, tmp_path)
    counts: list[int] = []

    @contextmanager
    def locked() -> Iterator[None]:
        with sqlite_locked(sqlite_url) as holder:
            counts.append(holder.execute("SELECT count(*) FROM stored_events").fetchone()[0])
            yield
            # Nothing was half-written behind the lock (the holder sees every commit).
            counts.append(holder.execute("SELECT count(*) FROM stored_events").fetchone()[0])

    try:
        # Reads go on (WAL: readers do not wait for the writer); writes wait for the
        # lock a bounded time, then get 503.
        durations = _run_outage(live, tokens, locked, reads_fail=False)
        print(f"seconds to a 503 while another process held the SQLite lock: {durations}")
        assert counts[0] == counts[1]
    finally:
        live.stop()
