"""The library's own application and projection test cases, on this project's stores.

The recorders' own cases are in test_recorders.py. Here other applications than
the project's (the library's bank accounts example; an application followed by
an event-sourced projection, which is an application with its own events
table) run on the project's persistence modules, hash chain included: on
PostgreSQL each events table has its own chain table.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path
from typing import Any, ClassVar
from unittest import mock
from uuid import UUID

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.projection import EventSourcedProjectionRunner

# Modules, not their classes: a test case class in this module's namespace would be
# collected (and fail) as it is.
from eventsourcing.tests import application as library_application
from eventsourcing.tests import projection as library_projection

from rescue.store.env import store_env
from tests.support import sqlite_url_for

PG_URL_ENV = "RESCUE_TEST_PG_URL"


class _SQLiteStore:
    """Each test on a new SQLite file, as the project's settings name it."""

    env: ClassVar[dict[str, str]] = {}
    expected_factory_topic = "rescue.store.sqlite_datastore:Factory"

    def setUp(self) -> None:
        self.folder = tempfile.TemporaryDirectory()
        _use_store(self, sqlite_url_for(Path(self.folder.name) / "log.db"))
        super().setUp()  # type: ignore[misc]

    def tearDown(self) -> None:
        super().tearDown()  # type: ignore[misc]
        _restore(self)
        self.folder.cleanup()


class _PostgresStore:
    """Each test on a new PostgreSQL database of the throw-away server."""

    env: ClassVar[dict[str, str]] = {}
    expected_factory_topic = "rescue.store.pg_datastore:Factory"

    def setUp(self) -> None:
        base = os.environ.get(PG_URL_ENV)
        if not base:
            if os.environ.get("CI"):
                pytest.fail("PostgreSQL not started: run ./scripts/test.sh")
            pytest.skip("PostgreSQL not started: run ./scripts/test.sh")
        import psycopg
        from psycopg import sql

        self.base = base
        self.dbname = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.dbname)))
        _use_store(self, base.rsplit("/", 1)[0] + "/" + self.dbname)
        super().setUp()  # type: ignore[misc]

    def tearDown(self) -> None:
        super().tearDown()  # type: ignore[misc]
        _restore(self)
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.base, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(self.dbname)
                )
            )


def _use_store(case: Any, url: str) -> None:
    """The store's settings for the test: in the environment (the example application
    reads it) and as the case's `env` (the projection runner is given it)."""
    settings = store_env(url)
    case.saved_environ = dict(os.environ)
    os.environ.update(settings)
    case.env = settings


def _restore(case: Any) -> None:
    os.environ.clear()
    os.environ.update(case.saved_environ)


class TestExampleApplicationOnSQLite(_SQLiteStore, library_application.ExampleApplicationTestCase):
    pass


@pytest.mark.postgres
class TestExampleApplicationOnPostgres(
    _PostgresStore, library_application.ExampleApplicationTestCase
):
    pass


class _PatientWaits:
    """The library's projection case waits 1 s for each event to be projected, which a
    CI machine running three test workers on 2 cores once took longer than (on
    PostgreSQL). It tests what is projected, not how fast: each wait here may take
    up to WAIT_S."""

    WAIT_S = 30.0

    def setUp(self) -> None:
        waiting = EventSourcedProjectionRunner.wait
        patcher = mock.patch.object(
            EventSourcedProjectionRunner,
            "wait",
            lambda runner, notification_id, timeout=self.WAIT_S: waiting(
                runner, notification_id, timeout
            ),
        )
        patcher.start()
        self.addCleanup(patcher.stop)  # type: ignore[attr-defined]
        super().setUp()  # type: ignore[misc]


class TestEventSourcedProjectionOnSQLite(
    _PatientWaits, _SQLiteStore, library_projection.EventSourcedProjectionTestCase
):
    def setUp(self) -> None:
        super().setUp()
        # A SQLite file holds one events table: the projection, an application of its
        # own, records its events in a file of its own (named for it, as the library
        # reads an application's settings).
        self.env = {**self.env, "COUNTERS_SQLITE_DBNAME": f"{self.folder.name}/counters.db"}


@pytest.mark.postgres
class TestEventSourcedProjectionOnPostgres(
    _PatientWaits, _PostgresStore, library_projection.EventSourcedProjectionTestCase
):
    pass


class First(Application[UUID]):
    pass


class Second(Application[UUID]):
    pass


@pytest.mark.postgres
def test_two_applications_in_one_postgres_database_keep_a_chain_each(postgres_url: str) -> None:
    # 1. Two applications, each with its own events table, in one database.
    first, second = First(env=store_env(postgres_url)), Second(env=store_env(postgres_url))
    try:
        first.save(Aggregate())
        second.save(Aggregate())
        first.save(Aggregate())
        # 2. Each events table has its own chain, next to it, covering its own events.
        chains = {app.name: app.recorder.chain_table_name for app in (first, second)}
        assert chains == {"First": "first_events_chain", "Second": "second_events_chain"}
        assert [h.notification_id for h in first.recorder.select_hashes(0, 1000)] == [1, 2]
        assert [h.notification_id for h in second.recorder.select_hashes(0, 1000)] == [1]
    finally:
        first.close()
        second.close()
