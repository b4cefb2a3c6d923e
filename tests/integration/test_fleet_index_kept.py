"""The board keeps each van's dispatch snapshot between index builds (projections/live.py):
whatever changes, the index it builds answers as one built from every van read anew."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from rescue.bootstrap import Rescue
from rescue.domain.dispatch import DispatchParams, FleetIndex
from rescue.domain.ids import track_uuid
from rescue.domain.tracks import VanTrack
from rescue.domain.vocabulary import Capability
from tests.builders import (
    ADMIN,
    OPERATOR,
    ZZ_LAT,
    ZZ_LON,
    line_network,
    load,
    open_app,
    report,
    reported,
    station,
    van,
    work_to_completion,
)

PARAMS = DispatchParams()


def _answers_as_read_anew(app: Rescue, rng: random.Random) -> None:
    now = app.clock()
    kept = app.view.fleet_index(now, PARAMS)
    anew = FleetIndex(
        [s for v in list(app.view.vans) if (s := app.view.van_snapshot(v)) is not None],
        now,
        PARAMS,
    )
    for capability in Capability:
        lat, lon = ZZ_LAT + rng.uniform(-0.1, 0.4), ZZ_LON + rng.uniform(-0.1, 0.1)
        assert kept.nearest(lat, lon, capability.value, k=20) == anew.nearest(
            lat, lon, capability.value, k=20
        ), capability


def _move(app: Rescue, van_id: str, lat: float, lon: float) -> None:
    track: VanTrack = app.store.repository.get(track_uuid(van_id))
    track.report(lat, lon, datetime.now(UTC) - timedelta(seconds=1))
    app.store.save(track)


def test_moves_shifts_calls_and_new_stations_reach_the_index(store_url: str) -> None:
    rng = random.Random(7)
    with open_app(store_url) as app:
        load(app, *line_network(6))
        _answers_as_read_anew(app, rng)
        for n in range(30):
            step = rng.choice(["move", "shift", "call", "new station"])
            van_id = f"V{rng.randint(1, 6)}"
            if step == "move":
                _move(app, van_id, ZZ_LAT + rng.uniform(0, 0.3), ZZ_LON + rng.uniform(-0.05, 0.05))
            elif step == "shift":
                on_duty = not app.view.vans[van_id]["on_duty"]
                app.network.change_shift(van_id, on_duty, ADMIN)
            elif step == "call":
                incident_id = reported(app, report(ZZ_LAT + rng.uniform(0, 0.3), ZZ_LON, n=n))
                taken = app.dispatch.dispatch(incident_id, OPERATOR.actor).body["van_id"]
                if taken is not None and rng.random() < 0.5:
                    work_to_completion(app, incident_id, taken)
            else:
                app.network.load_network(
                    [station(f"X{n}", ZZ_LAT + rng.uniform(0, 0.3), ZZ_LON)],
                    [van(f"W{n}", f"X{n}")],
                    ADMIN,
                )
            app.follower.catch_up()
            _answers_as_read_anew(app, rng)
