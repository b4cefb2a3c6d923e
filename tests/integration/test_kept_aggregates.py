"""Aggregates a process keeps between reads (rescue.services.kept).

Ranking reads the vans' parts stocks and service records from what it keeps,
and a van read its van. Not followed, every read answers as the store stands,
changes made through another process included, while each aggregate is read
in full only once. Followed by the process's log follower (as every server
process is), a read asks the store only for what the follower has brought
news of, and answers another process's change once it has reached the
follower; no news brought while a read is under way is lost.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import pytest

from rescue.bootstrap import Rescue, bootstrap
from rescue.domain.actors import Actor
from rescue.domain.errors import NotFound
from rescue.domain.parts import VanStock, stock_uuid
from rescue.services.kept import KeptAggregates
from rescue.settings import Settings
from tests.builders import OPERATOR, ZZ_LAT, ZZ_LON, line_network, load, open_app, report, van
from tests.integration.test_van_upkeep import _drive

STORES = Actor(role="admin", name="stores")
WORKSHOP = Actor(role="admin", name="workshop")
PALADIN_BATTERY = "BAT-80"  # the shipped table's battery for the PALADIN series


def _on_hand(stock: VanStock) -> dict[str, int]:
    return {line["part_no"]: line["qty"] for line in stock.as_list()}


def _arrived(app: Rescue) -> None:
    """Waits until everything stored so far, by any process, has reached the app's follower."""
    app.follower.catch_up()


@contextmanager
def _second_process(store_url: str, first: Rescue) -> Iterator[Rescue]:
    """Another process's application on the same store (the same master key)."""
    other = bootstrap(Settings(db=store_url, cipher_key=first.settings.cipher_key))
    try:
        yield other
    finally:
        other.close()


def test_what_is_kept_follows_every_change_and_is_read_in_full_once(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_app(store_url) as here, _second_process(store_url, here) as there:
        load(here, *line_network(3))
        kept = KeptAggregates(here.store)
        full_reads: list[UUID] = []
        get = here.store.repository.get

        def counted(aggregate_id: UUID, **options: Any) -> Any:
            full_reads.append(aggregate_id)
            return get(aggregate_id, **options)

        monkeypatch.setattr(here.store.repository, "get", counted)
        stocks = [stock_uuid(v) for v in ("V1", "V2", "V3")]
        # 1. Nothing loaded yet: every id is looked for once, none is answered.
        assert kept.read(stocks, _on_hand) == {}
        assert sorted(full_reads) == sorted(stocks)
        # 2. The other process loads V2, then V3, then takes from V2: each read sees it all.
        there.parts.adjust("V2", PALADIN_BATTERY, "battery", 2, "loaded", None, STORES)
        assert kept.read(stocks, _on_hand) == {stock_uuid("V2"): {PALADIN_BATTERY: 2}}
        there.parts.adjust("V3", "FUSE-10", "fuse", 5, "loaded", None, STORES)
        there.parts.adjust("V2", PALADIN_BATTERY, "battery", -1, "used", None, STORES)
        assert kept.read(stocks, _on_hand) == {
            stock_uuid("V2"): {PALADIN_BATTERY: 1},
            stock_uuid("V3"): {"FUSE-10": 5},
        }
        # 3. Never read in full again: the changes came as the events after what was kept.
        assert len(full_reads) == 3
        # 4. An id asked for twice is one answer; one not asked for is not answered.
        assert kept.read([stock_uuid("V3"), stock_uuid("V3")], _on_hand) == {
            stock_uuid("V3"): {"FUSE-10": 5}
        }


def test_ranking_sees_parts_and_services_recorded_through_another_process(
    store_url: str,
) -> None:
    with (
        open_app(store_url, service_interval_km=5.0) as desk,
        _second_process(store_url, desk) as station,
    ):
        load(desk, *line_network(3))
        # 1. Nothing loaded: the nearest van first.
        first = desk.dispatch.report_incident(report(n=1), OPERATOR.actor).body
        assert [r["van_id"] for r in first["recommendations"]] == ["V1", "V2", "V3"]
        assert not any(r["carries_parts"] for r in first["recommendations"])
        # 2. The station loads V2 with the battery: the desk's next call puts it first.
        station.parts.adjust("V2", PALADIN_BATTERY, "battery", 1, "loaded", None, STORES)
        _arrived(desk)
        second = desk.dispatch.report_incident(report(n=2), OPERATOR.actor).body
        assert [r["van_id"] for r in second["recommendations"]] == ["V2", "V1", "V3"]
        # 3. The battery is taken off again: the nearest van first again.
        station.parts.adjust("V2", PALADIN_BATTERY, "battery", -1, "written_off", None, STORES)
        _arrived(desk)
        third = desk.dispatch.report_incident(report(n=3), OPERATOR.actor).body
        assert [r["van_id"] for r in third["recommendations"]] == ["V1", "V2", "V3"]
        # 4. V3 drives 6.7 km out and back, past its 5 km interval: flagged. Serviced
        #    through the station, the desk's next call no longer flags it.
        home = (ZZ_LAT + 0.1, ZZ_LON)
        _drive(desk, "V3", [home, (home[0] + 0.03, home[1]), home], 5)
        desk.upkeep.catch_up()
        fourth = desk.dispatch.report_incident(report(n=4), OPERATOR.actor).body
        due = {r["van_id"]: r["maintenance_due"] for r in fourth["recommendations"]}
        assert due == {"V1": False, "V2": False, "V3": True}
        station.upkeep.record_service("V3", "tyres", 5.0, WORKSHOP)
        _arrived(desk)
        desk.upkeep.catch_up()
        fifth = desk.dispatch.report_incident(report(n=5), OPERATOR.actor).body
        due = {r["van_id"]: r["maintenance_due"] for r in fifth["recommendations"]}
        assert due == {"V1": False, "V2": False, "V3": False}


def test_a_van_read_answers_as_stored_after_a_change_through_another_process(
    store_url: str,
) -> None:
    with open_app(store_url) as here, _second_process(store_url, here) as there:
        load(here, *line_network(2))
        assert here.network.van_as_stored("V1")["on_duty"] is True
        there.network.change_shift("V1", False, STORES)
        _arrived(here)
        shown = here.network.van_as_stored("V1")
        assert shown["on_duty"] is False
        assert shown == there.runner.van("V1").as_public()
        with pytest.raises(NotFound):
            here.network.van_as_stored("V9")
        # Registered through the other process after it was looked for: found.
        there.network.register_van(van("V9", "S1"), STORES)
        _arrived(here)
        assert here.network.van_as_stored("V9")["station_id"] == "S1"


def test_reads_on_many_threads_at_once_answer_only_states_the_stock_passed_through(
    store_url: str,
) -> None:
    """Threads read the store together and apply what they read under the lock, while
    another process changes the stock: no read fails, none answers more than was loaded,
    and the last answers the stock as stored."""
    with open_app(store_url) as here, _second_process(store_url, here) as there:
        load(here, *line_network(3))
        kept = KeptAggregates(here.store)
        stocks = [stock_uuid(v) for v in ("V1", "V2", "V3")]
        answers: list[dict[UUID, dict[str, int]]] = []
        failures: list[BaseException] = []

        def reader() -> None:
            try:
                for _ in range(20):
                    answers.append(kept.read(stocks, _on_hand))
            except BaseException as error:  # reported below, not lost in the thread
                failures.append(error)

        threads = [threading.Thread(target=reader) for _ in range(4)]
        for thread in threads:
            thread.start()
        for _ in range(10):
            there.parts.adjust("V2", "FUSE-10", "fuse", 1, "loaded", None, STORES)
        for thread in threads:
            thread.join(timeout=120)
        assert not failures, failures
        # Each answer is a state the stock passed through, never more than was loaded.
        assert all(a.get(stock_uuid("V2"), {}).get("FUSE-10", 0) <= 10 for a in answers)
        assert kept.read(stocks, _on_hand) == {stock_uuid("V2"): {"FUSE-10": 10}}


def _statements(kept_store: Any, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the store's reads of events after kept versions (one statement each)."""
    counted: list[int] = []
    events_after = kept_store.events_after

    def counting(versions: Any) -> Any:
        counted.append(len(versions))
        return events_after(versions)

    monkeypatch.setattr(kept_store, "events_after", counting)
    return counted


def test_a_followed_read_asks_the_store_only_after_news_of_what_it_keeps(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_app(store_url) as here, _second_process(store_url, here) as there:
        load(here, *line_network(2))
        statements = _statements(here.store, monkeypatch)
        assert here.network.van_as_stored("V1")["on_duty"] is True
        with pytest.raises(NotFound):
            here.network.van_as_stored("V9")
        # 1. Read again and again, with GPS fixes of the van stored meanwhile (its track's
        #    events, not the van's): the store is not asked again.
        _drive(there, "V1", [(ZZ_LAT, ZZ_LON), (ZZ_LAT + 0.01, ZZ_LON)], 1)
        _arrived(here)
        for _ in range(5):
            assert here.network.van_as_stored("V1")["on_duty"] is True
            with pytest.raises(NotFound):
                here.network.van_as_stored("V9")
        assert statements == []
        # 2. A change through the other process: once it reached this follower, one
        #    statement for the van it changed, then none again.
        there.network.change_shift("V1", False, STORES)
        _arrived(here)
        assert here.network.van_as_stored("V1")["on_duty"] is False
        assert here.network.van_as_stored("V1")["on_duty"] is False
        assert statements == [1]
        # 3. A van registered through the other process, once looked for: found.
        there.network.register_van(van("V9", "S1"), STORES)
        _arrived(here)
        assert here.network.van_as_stored("V9")["station_id"] == "S1"
        assert statements == [1, 1]
        # 4. A change made through this process is read back at once: the command
        #    returns once the follower has applied it.
        here.network.change_shift("V1", True, STORES)
        assert here.network.van_as_stored("V1")["on_duty"] is True


def test_news_brought_while_a_read_is_under_way_is_not_lost(store_url: str) -> None:
    """The follower delivers a change while a read is at the store (the first read of
    a stock, then a later one): that read answers what it found, the next one asks again."""
    with open_app(store_url) as here, _second_process(store_url, here) as there:
        load(here, *line_network(2))
        there.parts.adjust("V1", "FUSE-10", "fuse", 1, "loaded", None, STORES)
        kept = KeptAggregates(here.store)
        kept.follow()  # told by hand below, as the follower tells it
        stock = stock_uuid("V1")

        def loaded_and_changed_meanwhile(adjust: int) -> Any:
            def change() -> None:
                there.parts.adjust("V1", "FUSE-10", "fuse", adjust, "loaded", None, STORES)
                version = there.runner.load(stock, "stock").version
                kept.saw(stock, version)  # the follower brings it before the read is done

            return change

        # 1. The first read: the stock is loaded, then changed before the read keeps it.
        get = here.store.repository.get
        change = loaded_and_changed_meanwhile(1)

        def get_then_change(aggregate_id: UUID, **options: Any) -> Any:
            found = get(aggregate_id, **options)
            change()
            return found

        here.store.repository.get = get_then_change  # type: ignore[method-assign]
        assert kept.read([stock], _on_hand) == {stock: {"FUSE-10": 1}}
        here.store.repository.get = get  # type: ignore[method-assign]
        assert kept.read([stock], _on_hand) == {stock: {"FUSE-10": 2}}
        # 2. A later read: the events after the kept version are read, then one more comes.
        kept.saw(stock, there.runner.load(stock, "stock").version + 1)  # news of a change...
        there.parts.adjust("V1", "FUSE-10", "fuse", 1, "loaded", None, STORES)  # ...stored
        events_after = here.store.events_after
        change = loaded_and_changed_meanwhile(1)

        def read_then_change(versions: Any) -> Any:
            found = events_after(versions)
            change()
            return found

        here.store.events_after = read_then_change  # type: ignore[method-assign]
        assert kept.read([stock], _on_hand) == {stock: {"FUSE-10": 3}}
        here.store.events_after = events_after  # type: ignore[method-assign]
        assert kept.read([stock], _on_hand) == {stock: {"FUSE-10": 4}}
        assert kept.read([stock], _on_hand) == {stock: {"FUSE-10": 4}}
