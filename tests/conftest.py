"""Shared fixtures: one SQLite file or one fresh PostgreSQL database per test.

PostgreSQL comes from the throw-away cluster that ``./scripts/test.sh`` starts and names in
``RESCUE_TEST_PG_URL``. Without it, PostgreSQL tests are skipped locally, but fail when ``CI``
is set: CI must never silently skip PostgreSQL.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.support import sqlite_url_for

# `rescue serve` starts one process per core by default; the servers the tests
# start keep to one unless a test is about several (it passes --workers).
os.environ.setdefault("RESCUE_WORKERS", "1")

PG_URL_ENV = "RESCUE_TEST_PG_URL"
PG_MISSING = "PostgreSQL not started: run ./scripts/test.sh"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + database))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """``sqlite:////<tmp_path>/rescue.db`` (the file does not exist yet)."""
    return sqlite_url_for(tmp_path / "rescue.db")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """URL of a fresh, empty database ``t_<12 hex>``, dropped after the test."""
    base = os.environ.get(PG_URL_ENV)
    if not base:
        if _in_ci():
            pytest.fail(f"{PG_MISSING} ({PG_URL_ENV} is unset and CI is set)", pytrace=False)
        pytest.skip(PG_MISSING)

    import psycopg
    from psycopg import sql

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _with_database(base, name)
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def store_url(request: pytest.FixtureRequest) -> str:
    """Runs the test once on SQLite and once on PostgreSQL; returns that store's URL."""
    kind: str = request.param
    url: str = request.getfixturevalue(f"{kind}_url")
    return url
