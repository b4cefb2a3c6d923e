"""The hash chain over the event log: an untouched log verifies; one changed byte, a deleted
event, two swapped events or a forged one make `rescue audit verify` fail and name the event.

The tampering is done the way someone with the database would do it: bytes edited in the
SQLite file itself, SQL against PostgreSQL.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from rescue.bootstrap import Rescue
from rescue.services.audit import Verification, verify
from rescue.services.positions import PositionReport, PositionWriter
from tests.builders import crew, line_network, load, open_app, report, reported
from tests.record_builders import call, worked
from tests.support import sqlite_path_of

MARKER = "cracked-housing-7f3a"


@dataclass
class Stored:
    """A store holding a small but complete log, and where some of its events sit."""

    url: str
    table: str
    incident: str  # the incident's originator id, as hex
    diagnosed: tuple[int, int]  # (notification id, version) of its first Diagnosed event
    completed: tuple[int, int]
    head: int


def locate(app: Rescue, incident_id: str, kind: str) -> tuple[int, int]:
    version = next(
        e["version"]
        for e in app.queries.history(incident_id, None, with_caller=False)["events"]
        if e["type"] == kind
    )
    rows = app.store.recorder.select_chained(uuid.UUID(incident_id))  # type: ignore[attr-defined]
    return next(r.notification_id for r in rows if r.originator_version == version), version


@pytest.fixture
def stored(store_url: str) -> Stored:
    with open_app(store_url) as app:
        # A network, GPS reports, and an incident worked to completion.
        load(app, *line_network(2))
        writer = PositionWriter(app.runner)
        start = datetime.now(UTC) - timedelta(minutes=10)
        for n in range(3):
            writer.submit(
                "V1", [PositionReport(34.7, 113.6 + n / 100, start + timedelta(seconds=n))]
            )
        writer.close()
        # The first diagnosis carries the marker; the second replaces it on the claim form, so
        # the marker is stored in that one event only.
        incident_id = worked(app, call("D22"), cause=f"pump {MARKER}", complete=False)
        crew_v1 = crew("V1")
        app.steps.take(incident_id, "diagnose", {"cause": "pump seized", "parts": []}, crew_v1)
        app.steps.take(incident_id, "complete", {"customer_signed": True}, crew_v1)
        facts = Stored(
            url=store_url,
            table=app.store.recorder.events_table_name,  # type: ignore[attr-defined]
            incident=uuid.UUID(incident_id).hex,
            diagnosed=locate(app, incident_id, "Diagnosed"),
            completed=locate(app, incident_id, "Completed"),
            head=app.store.recorder.max_notification_id() or 0,
        )
    # Closed before the tests tamper with the store, as an intruder would find it.
    return facts


def run_verify(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rescue.cli", "audit", "verify", "--db", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def verified(url: str) -> Verification:
    with open_app(url) as app:
        return verify(app.store.recorder)  # type: ignore[arg-type]


def sql(url: str, statement: str, *params: Any) -> int:
    """Runs one statement against the store, outside the application; returns rows touched."""
    if url.startswith("sqlite"):
        with sqlite3.connect(sqlite_path_of(url)) as conn:
            return conn.execute(statement.replace("%s", "?"), params).rowcount
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(statement, params).rowcount  # type: ignore[arg-type]


def position_column(url: str) -> str:
    return "rowid" if url.startswith("sqlite") else "notification_id"


def change_one_byte(stored: Stored) -> None:
    if stored.url.startswith("sqlite"):
        path = sqlite_path_of(stored.url)
        with sqlite3.connect(path) as conn:  # fold the write-ahead log into the file first
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        data = path.read_bytes()
        assert data.count(MARKER.encode()) == 1
        at = data.index(MARKER.encode())
        path.write_bytes(data[:at] + b"k" + data[at + 1 :])  # "cracked" -> "kracked"
    else:
        touched = sql(
            stored.url,
            f"UPDATE {stored.table} SET state = overlay(state placing 'k'::bytea "
            "from position(%s::bytea in state) for 1) WHERE position(%s::bytea in state) > 0",
            MARKER.encode(),
            MARKER.encode(),
        )
        assert touched == 1


def test_an_untouched_log_verifies(stored: Stored) -> None:
    # 1. In process: every event checked, none wrong, the head is the last event.
    result = verified(stored.url)
    assert result.ok, result.problems
    assert result.checked == stored.head
    assert result.head is not None and result.head.notification_id == stored.head
    # 2. The command says so and exits 0, printing the head to keep elsewhere.
    done = run_verify(stored.url)
    assert done.returncode == 0, done.stderr
    assert f"head {stored.head}:{result.head.hash}" in done.stdout


def test_one_changed_byte_is_found_and_named(stored: Stored) -> None:
    # 1. One byte of the Diagnosed event's state is changed in the store.
    change_one_byte(stored)
    # 2. The check names that event: its place, originator, version and what is wrong.
    result = verified(stored.url)
    first = result.problems[0]
    assert (first.kind, first.notification_id) == ("changed", stored.diagnosed[0])
    assert (first.originator_id, first.originator_version) == (stored.incident, stored.diagnosed[1])
    assert first.topic is not None and first.topic.endswith("Incident.Diagnosed")
    assert len(result.problems) == 1
    # 3. The command fails and names it too.
    done = run_verify(stored.url)
    assert done.returncode == 1
    assert f"notification {stored.diagnosed[0]}, originator {stored.incident}" in done.stderr
    assert f"version {stored.diagnosed[1]}" in done.stderr and "changed" in done.stderr


def test_a_deleted_event_is_found_and_named(stored: Stored) -> None:
    # 1. The Diagnosed event is deleted from the events table.
    column = position_column(stored.url)
    where = f"WHERE {column} = %s"
    assert sql(stored.url, f"DELETE FROM {stored.table} {where}", stored.diagnosed[0]) == 1
    # 2. The chain still names what was there: removed, with its originator and version.
    first = verified(stored.url).problems[0]
    assert (first.kind, first.notification_id) == ("removed", stored.diagnosed[0])
    assert (first.originator_id, first.originator_version) == (stored.incident, stored.diagnosed[1])
    done = run_verify(stored.url)
    assert done.returncode == 1 and "removed" in done.stderr


def test_a_deleted_event_and_its_chain_row_are_found(stored: Stored) -> None:
    # 1. Someone deletes the event and the chain row of its write (the diagnosis alone).
    column = position_column(stored.url)
    sql(stored.url, f"DELETE FROM {stored.table} WHERE {column} = %s", stored.diagnosed[0])
    chain_rows = sql(stored.url, "DELETE FROM event_chain WHERE first_id = %s", stored.diagnosed[0])
    assert chain_rows == 1
    # 2. The next event's entry still says what it followed: the gap is named.
    first = verified(stored.url).problems[0]
    assert (first.kind, first.notification_id) == ("removed", stored.diagnosed[0])
    assert run_verify(stored.url).returncode == 1


def test_two_swapped_events_are_found_and_named(stored: Stored) -> None:
    # 1. The Diagnosed and Completed events trade places in the log.
    (a, _), (b, _) = stored.diagnosed, stored.completed
    column, table = position_column(stored.url), stored.table
    sql(stored.url, f"UPDATE {table} SET {column} = -1 WHERE {column} = %s", a)
    sql(stored.url, f"UPDATE {table} SET {column} = %s WHERE {column} = %s", a, b)
    sql(stored.url, f"UPDATE {table} SET {column} = %s WHERE {column} = -1", b)
    # 2. The first misplaced event is named, and where its own place was.
    first = verified(stored.url).problems[0]
    assert (first.kind, first.notification_id) == ("out_of_order", a)
    assert first.originator_id == stored.incident
    assert f"now at notification {b}" in first.detail
    done = run_verify(stored.url)
    assert done.returncode == 1 and "out_of_order" in done.stderr


def test_a_forged_event_is_found_and_named(stored: Stored) -> None:
    # 1. An event is added behind the application's back, with no hash.
    forged = uuid.uuid4()
    originator: Any = forged.hex if stored.url.startswith("sqlite") else forged
    sql(
        stored.url,
        f"INSERT INTO {stored.table} (originator_id, originator_version, topic, state) "
        "VALUES (%s, 1, 'rescue.incidents:Incident.Closed', %s)",
        originator,
        b"{}",
    )
    # 2. The check names it as inserted.
    first = verified(stored.url).problems[0]
    assert (first.kind, first.originator_id, first.originator_version) == (
        "inserted",
        forged.hex,
        1,
    )
    assert first.notification_id > stored.head
    assert run_verify(stored.url).returncode == 1


def test_the_chain_stays_whole_under_concurrent_writers(store_url: str) -> None:
    with open_app(store_url) as app:
        load(app, *line_network(4))
        writer = PositionWriter(app.runner)
        start = datetime.now(UTC) - timedelta(minutes=30)

        def calls(n: int) -> None:
            reported(app, report(n=n))

        def fixes(n: int) -> None:
            at = start + timedelta(seconds=n)
            writer.submit(f"V{n % 4 + 1}", [PositionReport(34.7, 113.6, at)] * 5)

        # 1. Calls and GPS batches from many threads at once.
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(calls, range(30)))
            list(pool.map(fixes, range(60)))
        writer.close()
        head = app.store.recorder.max_notification_id()
        # 2. Every event got its hash, in one unbroken chain.
        result = verify(app.store.recorder)  # type: ignore[arg-type]
    assert result.ok, result.problems[:3]
    assert result.head is not None and result.head.notification_id == head
