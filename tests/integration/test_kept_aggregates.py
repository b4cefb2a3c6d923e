"""Aggregates a process keeps between reads (rescue.services.kept).

Ranking reads the vans' parts stocks and service records from what it keeps;
every read must answer as the store stands, changes made through another
process included, while each aggregate is read in full only once.
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
        second = desk.dispatch.report_incident(report(n=2), OPERATOR.actor).body
        assert [r["van_id"] for r in second["recommendations"]] == ["V2", "V1", "V3"]
        # 3. The battery is taken off again: the nearest van first again.
        station.parts.adjust("V2", PALADIN_BATTERY, "battery", -1, "written_off", None, STORES)
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
        shown = here.network.van_as_stored("V1")
        assert shown["on_duty"] is False
        assert shown == there.runner.van("V1").as_public()
        with pytest.raises(NotFound):
            here.network.van_as_stored("V9")
        # Registered through the other process after it was looked for: found.
        there.network.register_van(van("V9", "S1"), STORES)
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
