"""`rescue backup` while a real server keeps writing, `rescue restore` into a fresh store: the copy
holds a prefix of the log (every event acknowledged before the backup began, none asked for
after it ended), its hash chain verifies, a server started on it serves it and writes on, and
tampering with it is caught by `rescue audit verify`."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment
from psycopg import sql

from rescue.settings import Settings
from rescue.store.env import APPLICATION_NAME, store_env
from rescue.store.privacy import new_key
from tests.builders import REPAIR_STEPS
from tests.e2e.conftest import NETWORK, USERS
from tests.e2e.test_incident_life import report_body
from tests.live import LiveServer, bearer, seed
from tests.support import free_port, sqlite_path_of, sqlite_url_for

HQ = NETWORK.stations[0]
REPAIR_VAN = NETWORK.vans[1].van_id
# The writer below sends as fast as the server answers, one account per role: above the
# accounts' default rate limit (100 a second) whenever the server answers quickly enough.
UNLIMITED = {"rate_limit_per_s": "100000", "rate_limit_burst": "100000"}
NAME, PHONE = "诸葛亮", "13511112222"


Row = tuple[int, str, int, str, bytes]  # notification id, originator, version, topic, state


@dataclass(frozen=True)
class Ack:
    """A write the server acknowledged: the incident event it made, and when."""

    incident_id: str
    version: int
    sent: float
    answered: float


@dataclass
class Writer:
    """Works incidents through their whole life, with GPS fixes between the steps, until told
    to stop; keeps every acknowledgement."""

    live: LiveServer
    tokens: dict[str, str]
    acks: list[Ack] = field(default_factory=list)
    error: BaseException | None = None
    stopping: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self._run, name="writer", daemon=True)

    def _run(self) -> None:
        try:
            with httpx.Client(base_url=self.live.url, timeout=60) as http:
                while not self.stopping.is_set():
                    self._one_life(http)
        except BaseException as error:
            self.error = error

    def _ack(self, incident_id: str, version: int, sent: float) -> None:
        with self.lock:
            self.acks.append(Ack(incident_id, version, sent, time.monotonic()))

    def _post(self, http: httpx.Client, url: str, body: Any, who: str) -> dict[str, Any]:
        sent = time.monotonic()
        answer = http.post(url, json=body, headers=bearer(self.tokens[who]))
        assert answer.status_code in (200, 201, 202), (url, answer.text)
        result: dict[str, Any] = answer.json()
        if "incident_id" in result:
            self._ack(result["incident_id"], result.get("version", 1), sent)
        return result

    def _one_life(self, http: httpx.Client) -> None:
        incident = self._post(http, "/api/incidents", report_body(NAME, PHONE), "op")
        url = f"/api/incidents/{incident['incident_id']}"
        assert self._post(http, f"{url}/dispatch", {}, "op")["van_id"] == REPAIR_VAN
        for n, (action, data) in enumerate(REPAIR_STEPS):
            fix = {
                "lat": HQ.lat,
                "lon": HQ.lon + n / 10_000,
                "recorded_at": (datetime.now(UTC) - timedelta(seconds=1)).isoformat(),
            }
            self._post(http, f"/api/vans/{REPAIR_VAN}/positions", [fix], "crew-repair")
            self._post(http, f"{url}/{action}", data, "crew-repair")
        self._post(http, f"{url}/close", None, "op")

    def wait_for(self, count: int, after: float = 0.0, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while sum(1 for a in self.snapshot() if a.sent > after) < count:
            assert self.error is None, self.error
            assert time.monotonic() < deadline, "the writer made too little progress"
            time.sleep(0.05)

    def snapshot(self) -> list[Ack]:
        with self.lock:
            return list(self.acks)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=60)
        assert self.error is None, self.error


def rescue_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rescue.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@contextmanager
def fresh_store(store_url: str, folder: Path) -> Iterator[str]:
    """An empty store of the same kind: a new SQLite file, or a new PostgreSQL database."""
    if store_url.startswith("sqlite"):
        yield sqlite_url_for(folder / "restored.db")
        return
    name = f"r_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(store_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlsplit(store_url)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(store_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def stored_log(url: str) -> tuple[list[Row], str]:
    """The whole event log, in order, as stored; and the events table's name."""
    env = {**os.environ, **store_env(url), "CREATE_TABLE": "no"}
    factory = InfrastructureFactory.construct(Environment(APPLICATION_NAME, env))
    try:
        recorder: Any = factory.application_recorder()
        rows = [
            (n.id, n.originator_id.hex, n.originator_version, n.topic, bytes(n.state))
            for n in recorder.select_notifications(start=1, limit=10**7)
        ]
        return rows, str(recorder.events_table_name)
    finally:
        factory.close()


def tamper(url: str, table: str, notification_id: int) -> None:
    """Changes one byte of one stored event, as someone with the database could."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(sqlite_path_of(url))
        try:
            with conn:
                (state,) = conn.execute(
                    f"SELECT state FROM {table} WHERE rowid = ?", (notification_id,)
                ).fetchone()
                conn.execute(
                    f"UPDATE {table} SET state = ? WHERE rowid = ?",
                    (bytes(state).replace(b"battery", b"battere", 1), notification_id),
                )
        finally:
            conn.close()
        return
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            f"SELECT state FROM {table} WHERE notification_id = %s", (notification_id,)
        ).fetchone()
        assert row is not None
        conn.execute(
            f"UPDATE {table} SET state = %s WHERE notification_id = %s",
            (bytes(row[0]).replace(b"battery", b"battere", 1), notification_id),
        )


def test_a_backup_taken_while_writing_restores_a_verified_prefix(
    store_url: str, tmp_path: Path
) -> None:
    key = new_key()
    tokens = seed(Settings(db=store_url, cipher_key=key), NETWORK, USERS)
    live = LiveServer(store_url, key, free_port(), tmp_path / "server.log").start(**UNLIMITED)
    writer = Writer(live, tokens)
    backup_file = tmp_path / "backup" / "rescue.store.backup"
    try:
        # 1. Incidents are being worked when the backup is taken, and go on after it.
        writer.thread.start()
        writer.wait_for(12)
        began = time.monotonic()
        made = rescue_cli("backup", "--db", store_url, "--to", str(backup_file))
        ended = time.monotonic()
        assert made.returncode == 0, made.stderr
        writer.wait_for(6, after=ended)
        writer.stop()
    finally:
        writer.stopping.set()
        live.stop()
    original, _ = stored_log(store_url)

    with fresh_store(store_url, tmp_path) as restored_url:
        # 2. Restored into an empty store, which then refuses a second restore over it.
        done = rescue_cli("restore", "--from", str(backup_file), "--db", restored_url)
        assert done.returncode == 0, done.stderr
        again = rescue_cli("restore", "--from", str(backup_file), "--db", restored_url)
        assert again.returncode == 2
        assert "holds events" in again.stderr or "has tables" in again.stderr
        checked = rescue_cli("audit", "verify", "--db", restored_url)
        assert checked.returncode == 0, checked.stderr
        restored, table = stored_log(restored_url)

        # 3. A prefix of the log, byte for byte: everything up to a point, nothing after it.
        assert 0 < len(restored) < len(original)
        assert restored == original[: len(restored)]
        head = restored[-1][0]
        assert f"head {head}:" in checked.stdout
        if store_url.startswith("sqlite"):  # the backup names the head it copied
            assert f"log head {head}:" in made.stdout

        # 4. Every write acknowledged before the backup began is in it; none sent after it
        #    ended is; the writes in between fall either side of the snapshot.
        present = {(uuid.UUID(a).hex, v) for _, a, v, _, _ in restored}
        acks = writer.snapshot()
        before = [a for a in acks if a.answered < began]
        after = [a for a in acks if a.sent > ended]
        assert before and after
        assert {(uuid.UUID(a.incident_id).hex, a.version) for a in before} <= present
        assert not {(uuid.UUID(a.incident_id).hex, a.version) for a in after} & present

        # 5. A server on the restored copy serves it (the same key opens the caller) and
        #    writes on; the chain still verifies after that write.
        served = LiveServer(restored_url, key, free_port(), tmp_path / "restored.log").start()
        try:
            last = before[-1]
            with httpx.Client(base_url=served.url, timeout=30) as http:
                op = bearer(tokens["op"])
                shown = http.get(f"/api/incidents/{last.incident_id}", headers=op)
                assert shown.status_code == 200, shown.text
                versions = [v for _, a, v, _, _ in restored if a == uuid.UUID(last.incident_id).hex]
                assert shown.json()["version"] == max(versions) >= last.version
                assert shown.json()["caller"] == {"name": NAME, "phone": PHONE}
                assert (
                    http.post("/api/incidents", json=report_body(), headers=op).status_code == 201
                )
        finally:
            served.stop()
        rechecked = rescue_cli("audit", "verify", "--db", restored_url)
        assert rechecked.returncode == 0, rechecked.stderr
        assert stored_log(restored_url)[0][: len(restored)] == restored

        # 6. One changed byte in the restored copy is caught and the event named.
        diagnosed = next(
            n
            for n, _, _, topic, state in restored
            if topic.endswith("Incident.Diagnosed") and b"battery" in state
        )
        tamper(restored_url, table, diagnosed)
        caught = rescue_cli("audit", "verify", "--db", restored_url)
        assert caught.returncode == 1, caught.stdout
        assert f"notification {diagnosed}" in caught.stderr
