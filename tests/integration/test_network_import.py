"""Importing a whole network into the store: once, checked before writing, with progress."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rescue.bootstrap import Rescue
from rescue.domain.actors import Actor
from rescue.domain.vocabulary import Role
from rescue.places.network import Network
from rescue.services.network_import import import_network
from rescue.simulator.network import build_network
from rescue.simulator.setup import network_subset
from tests.builders import open_app

ADMIN = Actor(role=Role.ADMIN, name="importer")


@pytest.fixture
def app(store_url: str) -> Iterator[Rescue]:
    with open_app(store_url) as rescue:
        yield rescue


def test_import_adds_what_is_new_and_reports_progress(app: Rescue) -> None:
    henan = network_subset(build_network(), ["Henan"])
    done: list[int] = []
    assert import_network(app.network, henan, ADMIN, chunk=7, advance=done.append) == (
        len(henan.stations),
        len(henan.vans),
    )
    assert sum(done) == len(henan.stations) + len(henan.vans)
    assert max(done) == 7
    assert set(app.view.vans) == {v.van_id for v in henan.vans}
    assert all(app.runner.van(v.van_id).on_duty for v in henan.vans)
    assert import_network(app.network, henan, ADMIN) == (0, 0)


def test_a_van_of_an_unknown_station_is_refused_before_anything_is_written(
    app: Rescue,
) -> None:
    henan = network_subset(build_network(), ["Henan"])
    broken = Network(stations=henan.stations[1:], vans=henan.vans)
    with pytest.raises(ValueError, match="unknown station"):
        import_network(app.network, broken, ADMIN)
    assert app.view.stations == {} and app.view.vans == {}
