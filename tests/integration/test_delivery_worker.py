"""The log-following delivery worker on a real store: one lease holder, a cursor, retries."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from rescue.bootstrap import Rescue, bootstrap
from rescue.domain.vocabulary import Role
from rescue.services.delivery import Backoff, DeliveryFailed, LogEntry, TargetWorker
from rescue.services.delivery import event_type as type_of
from rescue.settings import Settings
from rescue.store.deliveries import DeliveryStore
from rescue.store.env import store_env
from rescue.store.privacy import new_key
from rescue.store.sqlite_datastore import writers_turn
from tests.e2e.delivery_support import wait_until
from tests.live import ADMIN

QUICK = Backoff(base_s=0.01, max_s=0.05, failing_after=2)


class Collecting:
    """A target that keeps the positions it is given; it fails its first `failures` attempts."""

    def __init__(self, name: str, failures: int = 0) -> None:
        self.name = name
        self.failures = failures
        self.delivered: list[int] = []
        self.attempts = 0
        self.health_changes: list[bool] = []
        self.lock = threading.Lock()

    def wants(self, entry: LogEntry) -> bool:
        return entry.event_type.startswith("Account.")

    def deliver(self, entry: LogEntry, attempt: int) -> None:
        with self.lock:
            self.attempts += 1
            if self.failures:
                self.failures -= 1
                raise DeliveryFailed("the receiver is down")
            self.delivered.append(entry.position)

    def flush(self) -> None:
        pass

    def health(self, failing: bool, detail: str | None) -> None:
        self.health_changes.append(failing)

    def close(self) -> None:
        pass


@pytest.fixture
def rescue(store_url: str) -> Iterator[Rescue]:
    app = bootstrap(Settings(db=store_url, cipher_key=new_key()))
    try:
        yield app
    finally:
        app.close()


def add_accounts(app: Rescue, names: range) -> None:
    for n in names:
        app.access.add_user(f"user-{n}", Role.OPERATOR, None, ADMIN)


def account_positions(app: Rescue, after: int = 0) -> list[int]:
    rows = app.store.recorder.select_notifications(start=after, limit=100_000)
    return [r.id for r in rows if type_of(r.topic).startswith("Account.") and r.id > after]


def test_one_holder_delivers_and_the_next_resumes_from_its_cursor(
    rescue: Rescue, store_url: str
) -> None:
    add_accounts(rescue, range(5))
    first = account_positions(rescue)
    stores = [DeliveryStore(store_url), DeliveryStore(store_url)]
    stores[0].ensure_cursor("accounts", 0)
    targets = [Collecting("accounts"), Collecting("accounts")]
    workers = [
        TargetWorker(t, rescue.store, s, f"holder-{i}", QUICK, lease_s=30)
        for i, (t, s) in enumerate(zip(targets, stores, strict=True))
    ]
    try:
        for worker in workers:
            worker.start()
        wait_until("one worker delivers", lambda: any(t.delivered == first for t in targets))
        holder = next(i for i, t in enumerate(targets) if t.delivered)
        other = 1 - holder
        assert targets[other].delivered == []  # the lease kept the other one out

        # The holder stops (its lease is released); the other resumes after the cursor.
        workers[holder].stop()
        add_accounts(rescue, range(5, 8))
        rest = account_positions(rescue, after=first[-1])
        wait_until("the other worker takes over", lambda: targets[other].delivered == rest)
        assert targets[holder].delivered == first
        wait_until(
            "the cursor passes them", lambda: (stores[0].position("accounts") or 0) >= rest[-1]
        )
    finally:
        for worker in workers:
            worker.stop()
        for store in stores:
            store.close()


def test_a_failing_target_is_retried_in_order_and_marked_failing_then_healthy(
    rescue: Rescue, store_url: str
) -> None:
    add_accounts(rescue, range(3))
    expected = account_positions(rescue)
    store = DeliveryStore(store_url)
    store.ensure_cursor("flaky", 0)
    target = Collecting("flaky", failures=4)
    worker = TargetWorker(target, rescue.store, store, "holder", QUICK, lease_s=30)
    try:
        worker.start()
        wait_until("everything is delivered", lambda: target.delivered == expected)
    finally:
        worker.stop()
        store.close()
    assert target.attempts == len(expected) + 4
    assert target.health_changes == [True, False]


def test_a_lost_lease_cannot_move_the_cursor(store_url: str) -> None:
    store = DeliveryStore(store_url)
    try:
        store.ensure_cursor("t", 10)
        store.ensure_cursor("t", 0)  # exists: left as it is
        assert store.position("t") == 10
        assert store.acquire("t", "a", 30)
        assert not store.acquire("t", "b", 30)
        assert not store.advance("t", "b", 20, 30)
        assert store.advance("t", "a", 20, 30)
        assert not store.advance("t", "a", 15, 30)  # never backwards
        store.release("t", "a")
        assert store.acquire("t", "b", 30)
        assert store.position("t") == 20
    finally:
        store.close()


def test_a_cursor_moves_in_its_turn_among_the_stores_writers_on_sqlite(store_url: str) -> None:
    """On SQLite the delivery bookkeeping writes in the writers' queue, as the log's writers do:
    while a writer of another process holds the queue, the cursor does not move."""
    if not store_url.startswith("sqlite:///"):
        pytest.skip("the writers' queue is SQLite's (PostgreSQL queues writers itself)")
    store, reader = DeliveryStore(store_url), DeliveryStore(store_url)
    moved: list[int] = []

    def rewind() -> None:
        store.rewind("t", 5)
        moved.append(5)

    try:
        store.ensure_cursor("t", 0)
        with writers_turn(store_env(store_url)["SQLITE_DBNAME"]):
            writer = threading.Thread(target=rewind)
            writer.start()
            writer.join(0.5)
            assert writer.is_alive() and reader.position("t") == 0, "wrote without its turn"
        writer.join(30)
        assert moved == [5] and reader.position("t") == 5
    finally:
        store.close()
        reader.close()
