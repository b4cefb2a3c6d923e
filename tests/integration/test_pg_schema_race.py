"""Several processes opening one PostgreSQL store at once, as `rescue serve --workers` does.

Each opening creates the library's tables, types and database functions if
they are missing; `CREATE OR REPLACE FUNCTION` run by two sessions at once
fails in one with "tuple concurrently updated", and a server process that
fails so while starting stops the whole server. The openings take turns.
"""

from __future__ import annotations

import threading

from rescue.services.store import RescueStore

OPENERS = 6
ROUNDS = 4


def _open_at_once(url: str) -> list[BaseException]:
    """Opens the store on OPENERS threads released together; what failed."""
    start = threading.Barrier(OPENERS)
    failures: list[BaseException] = []

    def open_store() -> None:
        start.wait(timeout=60)
        try:
            RescueStore(url).close()
        except BaseException as error:  # reported by the test, not lost in the thread
            failures.append(error)

    openers = [threading.Thread(target=open_store) for _ in range(OPENERS)]
    for opener in openers:
        opener.start()
    for opener in openers:
        opener.join(timeout=120)
    return failures


def test_stores_opened_at_once_on_one_database_all_open(postgres_url: str) -> None:
    RescueStore(postgres_url).close()  # the tables exist; the functions are replaced each time
    for _ in range(ROUNDS):
        failures = _open_at_once(postgres_url)
        assert not failures, failures
