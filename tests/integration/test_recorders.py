"""The library's own recorder test cases, run against the recorders this project uses.

`SubscribableSQLiteRecorder` adds the live subscription the library lacks on
SQLite; the chained recorders keep the hash chain on every insert. Both must
still behave as the library's recorders do, subscription included
(`optional_test_insert_subscribe` is the library's test for recorders that
support `subscribe()`).
"""

from __future__ import annotations

import os
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import InfrastructureFactory, IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore
from eventsourcing.tests.persistence import ApplicationRecorderTestCase
from psycopg import sql

from rescue.services.audit import verify
from rescue.store.chain import ChainedPostgresRecorder, ChainedSQLiteRecorder
from rescue.store.env import store_environment
from rescue.store.recorders import SubscribableSQLiteRecorder
from tests.builders import open_app


def _join_library_readers() -> None:
    """Waits for the reader threads the library's concurrency test leaves running.

    `test_concurrent_no_conflicts` tells its readers to stop but does not wait
    for them; closing the datastore under a reader that is mid-query would
    crash the process.
    """
    for thread in threading.enumerate():
        if "read_continuously" in thread.name:
            thread.join(timeout=10)


class _SQLiteCase(ApplicationRecorderTestCase[Any]):
    __test__ = False  # a base: its subclasses name the recorder
    recorder_class: type[SubscribableSQLiteRecorder] = SubscribableSQLiteRecorder

    def setUp(self) -> None:
        super().setUp()
        self.folder = tempfile.TemporaryDirectory()
        self.datastore = SQLiteDatastore(str(Path(self.folder.name) / "log.db"))

    def tearDown(self) -> None:
        _join_library_readers()
        self.datastore.close()
        self.folder.cleanup()
        super().tearDown()

    def create_recorder(self) -> SubscribableSQLiteRecorder:
        recorder = self.recorder_class(self.datastore)
        recorder.create_table()
        return recorder

    def test_insert_subscribe(self) -> None:
        self.optional_test_insert_subscribe()

    def test_concurrent_throughput(self) -> None:
        pytest.skip("a throughput print, not a check; measured by `rescue bench`")

    def test_performance(self) -> None:
        pytest.skip("a timing print, not a check; measured by `rescue bench`")


class TestSubscribableSQLiteRecorder(_SQLiteCase):
    __test__ = True
    recorder_class = SubscribableSQLiteRecorder


class TestChainedSQLiteRecorder(_SQLiteCase):
    __test__ = True
    recorder_class = ChainedSQLiteRecorder


@pytest.mark.postgres
class TestChainedPostgresRecorder(ApplicationRecorderTestCase[Any]):
    def setUp(self) -> None:
        super().setUp()
        base = os.environ.get("RESCUE_TEST_PG_URL")
        if not base:
            if os.environ.get("CI"):
                pytest.fail("PostgreSQL not started: run ./scripts/test.sh")
            pytest.skip("PostgreSQL not started: run ./scripts/test.sh")
        self.dbname = f"t_{uuid.uuid4().hex[:12]}"
        self.base = base
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.dbname)))
        parts = base.split("@", 1)[1].split("/", 1)[0]
        host, port = parts.split(":")
        self.datastore = PostgresDatastore(
            dbname=self.dbname,
            host=host,
            port=port,
            user="rescue",
            password="rescue",
            pool_size=10,
            max_overflow=10,
        )

    def tearDown(self) -> None:
        _join_library_readers()
        self.datastore.close()
        with psycopg.connect(self.base, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(self.dbname)
                )
            )
        super().tearDown()

    def create_recorder(self) -> ChainedPostgresRecorder:
        recorder = ChainedPostgresRecorder(self.datastore)
        recorder.create_table()
        return recorder

    def test_insert_subscribe(self) -> None:
        self.optional_test_insert_subscribe()

    def test_concurrent_throughput(self) -> None:
        pytest.skip("a throughput print, not a check; measured by `rescue bench`")

    def test_performance(self) -> None:
        pytest.skip("a timing print, not a check; measured by `rescue bench`")


def _insert_twelve(recorder: Any) -> None:
    originators = [uuid.uuid4() for _ in range(3)]
    for version in range(1, 5):
        recorder.insert_events(
            [
                StoredEvent(originator, version, f"topic-{n}", b'{"v": %d}' % version)
                for n, originator in enumerate(originators)
            ]
        )


def _reads_as_the_library(recorder: Any, library_class: Any) -> None:
    """Each kind of read of the recorder's notifications gives what the library's gives."""

    def library(*args: Any, **kwargs: Any) -> Any:
        return library_class.select_notifications(recorder, *args, **kwargs)

    asked: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        ((None, 100), {}),
        ((0, 5), {}),
        ((1, 5), {}),
        ((4, 3), {"inclusive_of_start": False}),
        ((12, 10), {"inclusive_of_start": False}),
        ((13, 10), {}),
        ((2, 100), {"stop": 7}),
        ((1, 100), {"topics": ["topic-1"]}),
    ]
    for args, kwargs in asked:
        ours = recorder.select_notifications(*args, **kwargs)
        assert list(ours) == list(library(*args, **kwargs)), (args, kwargs)
    everything = recorder.select_notifications(None, 100)
    assert [n.id for n in everything] == list(range(1, 13))
    assert all(isinstance(n.originator_id, uuid.UUID) for n in everything)
    # The read models' rows: the same notifications, after a position, the id as hex digits.
    for after, limit in ((0, 100), (0, 5), (4, 3), (11, 10), (12, 10)):
        assert recorder.rows_after(after, limit) == [
            (n.id, n.originator_id.hex, n.originator_version, n.topic, n.state)
            for n in library(after + 1, limit)
        ], (after, limit)


def test_notifications_read_as_tuples_are_the_librarys(tmp_path: Path) -> None:
    """The SQLite recorders' own reading of notifications gives what the library's gives."""
    datastore = SQLiteDatastore(str(tmp_path / "log.db"))
    try:
        recorder = ChainedSQLiteRecorder(datastore)
        recorder.create_table()
        _insert_twelve(recorder)
        _reads_as_the_library(recorder, SQLiteApplicationRecorder)
    finally:
        datastore.close()


@pytest.mark.postgres
def test_postgres_notifications_read_as_tuples_are_the_librarys(postgres_url: str) -> None:
    """The PostgreSQL recorder's own reading of notifications gives what the library's gives."""
    # The store's recorder as the application builds it from the URL (tables created).
    factory = InfrastructureFactory.construct(store_environment(postgres_url))
    try:
        recorder = factory.application_recorder()
        assert isinstance(recorder, ChainedPostgresRecorder)
        _insert_twelve(recorder)
        _reads_as_the_library(recorder, PostgresApplicationRecorder)
    finally:
        factory.close()


@pytest.mark.postgres
def test_postgres_catch_up_read_probes_each_originator_by_its_key(postgres_url: str) -> None:
    """The position writer's catch-up read (`select_after`) on PostgreSQL seeks each
    originator's rows in the primary key: a plan that scans the whole table would cost more
    with every fix the log holds, for every batch of fixes."""
    with open_app(postgres_url) as app:
        recorder: ChainedPostgresRecorder = app.store.recorder  # type: ignore[assignment]
        originators = [uuid.uuid4() for _ in range(200)]
        recorder.insert_rows(
            [(o.hex, version, "topic", b"{}") for version in range(1, 101) for o in originators]
        )
        asked = [(o, 97 if n % 2 else 100) for n, o in enumerate(originators[:25])]
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute("ANALYZE")
            with psycopg.ClientCursor(conn) as curs:
                curs.execute(
                    sql.SQL("EXPLAIN ") + recorder._select_after,
                    ([o for o, _ in asked], [after for _, after in asked]),
                )
                plan = "\n".join(str(row[0]) for row in curs.fetchall())
        assert "Seq Scan" not in plan, plan
        assert "_pkey" in plan, plan

        found = recorder.select_after(asked)
        assert [(e.originator_id, e.originator_version) for e in found] == sorted(
            (o, version) for o, after in asked for version in range(after + 1, 101)
        )


def test_a_refused_postgres_insert_stores_nothing_and_lets_go_of_the_events_table(
    postgres_url: str,
) -> None:
    """An insert refused half-way (a version already stored) is rolled back: none of its
    events is kept, the table's lock is released, and the chain goes on whole."""
    with open_app(postgres_url) as app:
        recorder: ChainedPostgresRecorder = app.store.recorder  # type: ignore[assignment]
        track = uuid.uuid4()
        recorder.insert_rows([(track.hex, 1, "topic", b"{}")])
        with pytest.raises(IntegrityError):
            recorder.insert_rows([(track.hex, 2, "topic", b"{}"), (track.hex, 1, "topic", b"{}")])

        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '2s'")
            with conn.transaction():  # waits for no one
                conn.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(recorder.events))
        assert [e.originator_version for e in recorder.select_events(track)] == [1]

        (added,) = recorder.insert_rows([(track.hex, 2, "topic", b"{}")])
        result = verify(recorder)
    assert result.ok, result.problems[:3]
    assert result.head is not None and result.head.notification_id == added


def test_postgres_inserts_take_consecutive_ids_under_the_lock_and_never_reuse_a_refused_ones(
    postgres_url: str,
) -> None:
    """Each insert takes its ids from the table's sequence under the table lock: writers
    in parallel each get a consecutive run, stored as returned, the runs never overlap,
    and the ids of a refused insert are not handed out again (as the library's own)."""
    with open_app(postgres_url) as app:
        recorder: ChainedPostgresRecorder = app.store.recorder  # type: ignore[assignment]
        runs: list[list[int]] = []
        failures: list[BaseException] = []

        def write(writer: int) -> None:
            try:
                for _ in range(15):
                    track = uuid.uuid4().hex
                    rows = [(track, v, "topic", b'{"w": %d}' % writer) for v in range(1, 4)]
                    runs.append(list(recorder.insert_rows(rows)))
            except BaseException as error:  # reported below, not lost in the thread
                failures.append(error)

        threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not failures, failures
        assert len(runs) == 60
        for ids in runs:
            assert ids == list(range(ids[0], ids[0] + 3))
        taken = sorted(i for ids in runs for i in ids)
        assert len(set(taken)) == len(taken) == 180

        stored = {
            n.id: (n.originator_id.hex, n.originator_version)
            for n in recorder.select_notifications(start=taken[0], limit=1000)
        }
        assert sorted(stored) == taken
        for ids in runs:  # each run is one track's versions 1..3, in order
            tracks = {stored[i][0] for i in ids}
            assert len(tracks) == 1 and [stored[i][1] for i in ids] == [1, 2, 3]

        track = uuid.uuid4()
        with pytest.raises(IntegrityError):
            recorder.insert_rows([(track.hex, 1, "topic", b"{}"), (track.hex, 1, "topic", b"{}")])
        (after_refusal,) = recorder.insert_rows([(track.hex, 1, "topic", b"{}")])
        assert after_refusal == taken[-1] + 3  # the refused insert's two ids stay unused
        result = verify(recorder)
    assert result.ok, result.problems[:3]
    assert result.head is not None and result.head.notification_id == after_refusal
