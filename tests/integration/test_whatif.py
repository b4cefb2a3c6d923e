"""What-if replay: recorded calls through the dispatch rule against the same or a changed network.

History is made through the services with one hand-moved clock stamping both
the services' decisions and the recorded events, so the recorded times are
known. Four stations go north from Zhengzhou, 0.1 degree (about 11 km) apart,
one van each; calls come just south of Zhengzhou, so V1 is nearest, V2 next.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import eventsourcing.domain
import pytest
from typer.testing import CliRunner

from rescue.bootstrap import Rescue
from rescue.cli.main import app as cli
from rescue.places.geojson import network_geojson
from rescue.places.network import Network
from rescue.services.whatif import what_if
from rescue.services.whatif_record import read_period
from tests.builders import (
    OPERATOR,
    ZZ_LAT,
    ZZ_LON,
    FakeClock,
    crew,
    line_network,
    load,
    notification_count,
    offered_events,
    open_app,
    report,
    reported,
)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
    monkeypatch.setattr(eventsourcing.domain, "datetime_now_with_tzinfo", fake)
    return fake


@pytest.fixture
def app(store_url: str, clock: FakeClock) -> Iterator[Rescue]:
    with open_app(store_url, clock, offer_timeout_s=10_000.0) as rescue:
        stations, vans = line_network(4, step_deg=0.1)
        load(rescue, stations, vans)
        yield rescue


class Crews:
    """Offers and steps as the crews send them, with the clock moved between steps."""

    def __init__(self, app: Rescue, clock: FakeClock) -> None:
        self.app, self.clock = app, clock

    def call(self, lat: float, n: int) -> tuple[str, str]:
        incident_id = reported(self.app, report(lat, ZZ_LON, n=n))
        self.clock.advance(30)  # the operator reads the recommendations
        self.app.dispatch.dispatch(incident_id, OPERATOR.actor)
        van_id = str(offered_events(self.app, incident_id)[-1]["data"]["van_id"])
        return incident_id, van_id

    def step(self, incident_id: str, van_id: str, action: str, after_s: float) -> None:
        self.clock.advance(after_s)
        data = {
            "accept": {"eta_min": 15.0},
            "resolve": {"outcome": "repaired_on_site"},
            "complete": {"customer_signed": True},
            "decline": {"reason": "flat tyre of our own"},
        }.get(action, {})
        self.app.steps.take(incident_id, action, data, crew(van_id))

    def finish(self, incident_id: str, van_id: str, drive_s: float) -> None:
        self.step(incident_id, van_id, "accept", 20)
        self.step(incident_id, van_id, "depart", 60)
        self.step(incident_id, van_id, "arrive", drive_s)
        self.step(incident_id, van_id, "resolve", 600)
        self.step(incident_id, van_id, "complete", 300)


def make_history(app: Rescue, clock: FakeClock) -> list[tuple[str, str]]:
    """Overlapping calls: the second and third come while V1 (and then V2) is busy."""
    crews = Crews(app, clock)
    a = crews.call(ZZ_LAT - 0.05, 1)
    crews.step(*a, "accept", 20)
    b = crews.call(ZZ_LAT - 0.04, 2)  # V1 holds a: V2
    c = crews.call(ZZ_LAT - 0.03, 3)  # V1 and V2 busy: V3
    crews.step(*a, "depart", 60)
    crews.step(*a, "arrive", 500)
    crews.step(*a, "resolve", 600)
    crews.step(*a, "complete", 300)
    crews.finish(*b, 900)
    crews.finish(*c, 1500)
    d = crews.call(ZZ_LAT - 0.06, 4)  # everyone free again: V1
    crews.finish(*d, 700)
    return [a, b, c, d]


def period(clock: FakeClock) -> tuple[datetime, datetime]:
    return datetime(2026, 3, 2, 1, 0, tzinfo=UTC), clock() + timedelta(minutes=1)


def without_station(network: Network, station_id: str) -> Network:
    """The network with the station closed: it and its vans leave."""
    return dataclasses.replace(
        network,
        stations=tuple(s for s in network.stations if s.station_id != station_id),
        vans=tuple(v for v in network.vans if v.station_id != station_id),
    )


def replay(app: Rescue, clock: FakeClock, network: object = None) -> dict[str, object]:
    start, end = period(clock)
    return what_if(
        app.store,
        start,
        end,
        network,  # type: ignore[arg-type]
        app.etas.table(),
        app.settings.dispatch_params(),
        app.settings.max_dispatch_km,
    )


def test_the_unchanged_network_reproduces_the_recorded_assignments(
    app: Rescue, clock: FakeClock
) -> None:
    # 1. Four calls, three of them at once: V1, V2, V3, then V1 again.
    history = make_history(app, clock)
    assert [van for _, van in history] == ["V1", "V2", "V3", "V1"]
    written = notification_count(app)

    # 2. Replayed against the network as recorded.
    document = replay(app, clock)

    # 3. Every call goes to the van it went to, and arrives when it did.
    calls = {c["incident_id"]: c for c in document["calls"]}  # type: ignore[attr-defined]
    for incident_id, van_id in history:
        assert calls[incident_id]["replayed_van_id"] == van_id
        assert (
            calls[incident_id]["replayed_answer_to_arrival_min"]
            == calls[incident_id]["recorded_answer_to_arrival_min"]
        )
    assert document["assignments"]["rule_answered"] == {"calls": 4, "same_van": 4}  # type: ignore[index]
    overall = document["overall"]  # type: ignore[index]
    assert overall["recorded"] == overall["replayed"]
    # 4. Nothing was written to the store.
    assert notification_count(app) == written


def test_a_closed_stations_calls_go_to_the_next_nearest(app: Rescue, clock: FakeClock) -> None:
    history = make_history(app, clock)
    start, end = period(clock)
    recorded = read_period(app.store, start, end).network
    # 1. S1 closes: its station and its van leave the network.
    closed = without_station(recorded, "S1")
    document = replay(app, clock, closed)
    calls = {c["incident_id"]: c for c in document["calls"]}  # type: ignore[attr-defined]
    a, b, c, d = (incident_id for incident_id, _ in history)
    # 2. V1's calls go to V2 when it is free, and every van moves one station up.
    assert calls[a]["replayed_van_id"] == "V2"
    assert calls[b]["replayed_van_id"] == "V3"
    assert calls[c]["replayed_van_id"] == "V4"
    assert calls[d]["replayed_van_id"] == "V2"
    # 3. Farther vans arrive later, and S1 is the station that lost most.
    for incident_id in (a, d):
        assert (
            calls[incident_id]["replayed_answer_to_arrival_min"]
            > calls[incident_id]["recorded_answer_to_arrival_min"]
        )
    assert document["network"]["closed"] == ["S1"]  # type: ignore[index]
    lost = document["stations_lost_most"]  # type: ignore[index]
    assert lost and lost[0]["station_id"] == "S1"


def test_a_declined_call_is_counted_apart(app: Rescue, clock: FakeClock) -> None:
    crews = Crews(app, clock)
    incident_id, van_id = crews.call(ZZ_LAT - 0.05, 1)
    # 1. V1 declines; the job moves on to V2 by itself.
    crews.step(incident_id, van_id, "decline", 30)
    assert offered_events(app, incident_id)[-1]["data"]["van_id"] == "V2"
    document = replay(app, clock)
    (call,) = document["calls"]  # type: ignore[misc]
    assert call["depends_on_a_decision"] is True
    assert call["first_van_id"] == "V1"
    assert document["assignments"]["rule_answered"]["calls"] == 0  # type: ignore[index]


def test_the_command_writes_json_and_png(
    app: Rescue, clock: FakeClock, store_url: str, tmp_path: Path
) -> None:
    make_history(app, clock)
    start, end = period(clock)
    recorded = read_period(app.store, start, end).network
    network_file = tmp_path / "network.geojson"
    network_file.write_text(json.dumps(network_geojson(without_station(recorded, "S1"))))
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        [
            "whatif",
            "--from",
            start.isoformat(),
            "--to",
            end.isoformat(),
            "--network",
            str(network_file),
            "--out",
            str(out),
            "--db",
            store_url,
        ],
        env={"RESCUE_CIPHER_KEY": app.settings.resolved_key() or ""},
    )
    assert result.exit_code == 0, result.output
    document = json.loads((out / "whatif.json").read_text())
    assert document["overall"]["recorded"]["calls"] == 4
    assert document["network"]["closed"] == ["S1"]
    assert (out / "whatif.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_command_refuses_a_bad_period_and_a_bad_network_file(
    store_url: str, tmp_path: Path
) -> None:
    runner = CliRunner()
    backwards = runner.invoke(
        cli, ["whatif", "--from", "2026-03-02T10:00", "--to", "2026-03-02T09:00", "--db", store_url]
    )
    assert backwards.exit_code == 2 and "--to must be after --from" in backwards.output
    bad = tmp_path / "bad.geojson"
    bad.write_text('{"type": "Point"}')
    refused = runner.invoke(
        cli,
        [
            "whatif",
            "--from",
            "2026-03-02T09:00",
            "--to",
            "2026-03-02T10:00",
            "--network",
            str(bad),
            "--db",
            store_url,
        ],
    )
    assert refused.exit_code == 2 and "FeatureCollection" in refused.output
