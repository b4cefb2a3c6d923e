"""A van's trail over HTTP on both stores: the fixes recorded in the period (found by time in
a long track), a tablet's late backlog, thinning, stops, and bad periods refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rescue.domain.ids import track_uuid
from rescue.domain.tracks import VanTrack
from tests.builders import ZZ_LAT, ZZ_LON, HttpWorld, served

START = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)


class StoredAt:
    """Stands in for the fixes' stored time, so a test can lay down days of track at once."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def stored_at(monkeypatch: pytest.MonkeyPatch) -> Iterator[StoredAt]:
    clock = StoredAt()
    monkeypatch.setattr(VanTrack.PositionReported, "create_timestamp", staticmethod(clock))
    yield clock


def record(
    world: HttpWorld, stored_at: StoredAt, fixes: list[tuple[datetime, datetime, float, float]]
) -> None:
    """Stores (stored at, recorded at, lat, lon) fixes of V1, in the order given."""
    track: Any = world.app.store.repository.get(track_uuid("V1"))
    for stored, recorded, lat, lon in fixes:
        stored_at.now = stored
        track.report(lat, lon, recorded, speed_kmh=36.0, heading=0.0)
    world.app.store.append([track])


def trail(world: HttpWorld, start: datetime, end: datetime, **query: Any) -> dict[str, Any]:
    answer = world.get(
        "/api/vans/V1/track",
        "auditor",
        params={"from": start.isoformat(), "to": end.isoformat(), **query},
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def kinds(body: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [f for f in body["features"] if f["properties"]["kind"] == kind]


def test_the_trail_of_a_period_in_a_long_track(store_url: str, stored_at: StoredAt) -> None:
    with served(store_url) as world:
        # 1. Three days of fixes, one a minute, each stored two seconds after it was taken,
        #    the van creeping north; it stands still for 20 minutes on day 2 at 12:00.
        day2_noon = START + timedelta(days=1, hours=12)
        fixes = []
        for minute in range(3 * 24 * 60):
            at = START + timedelta(minutes=minute)
            parked = day2_noon <= at < day2_noon + timedelta(minutes=20)
            north = 0.0 if parked else minute * 0.001
            if at >= day2_noon + timedelta(minutes=20):
                north = minute * 0.001 - 0.02
            fixes.append((at + timedelta(seconds=2), at, ZZ_LAT + north, ZZ_LON))
        # 2. A tablet's backlog: recorded in the hour after noon on day 2, sent one hour and
        #    three hours after that hour.
        backlog_at = day2_noon + timedelta(minutes=30, seconds=30)
        fixes.append((day2_noon + timedelta(hours=2), backlog_at, 10.0, 100.0))
        fixes.append((day2_noon + timedelta(hours=4), backlog_at, 11.0, 101.0))
        fixes.sort(key=lambda f: f[0])
        record(world, stored_at, fixes)
        # 3. The hour from noon on day 2: its 61 fixes, plus the backlog sent within two hours.
        body = trail(world, day2_noon, day2_noon + timedelta(hours=1))
        points = kinds(body, "fix")
        assert body["type"] == "FeatureCollection" and body["van_id"] == "V1"
        assert body["fixes"] == 62 and len(points) == 62 and not body["thinned"]
        times = [p["properties"]["at"] for p in points]
        assert times == sorted(times)
        assert (
            times[0] == day2_noon.isoformat()
            and times[-1] == (day2_noon + timedelta(hours=1)).isoformat()
        )
        assert [10.0, 100.0][::-1] in [p["geometry"]["coordinates"] for p in points]
        assert [101.0, 11.0] not in [p["geometry"]["coordinates"] for p in points]
        assert points[0]["properties"]["speed_kmh"] == 36.0
        (line,) = kinds(body, "trail")
        assert (
            line["geometry"]["type"] == "LineString" and len(line["geometry"]["coordinates"]) == 62
        )
        # 4. The 20 minutes parked are one stop; with stops from 30 minutes up, none.
        (stop,) = kinds(body, "stop")
        assert stop["properties"]["from"] == day2_noon.isoformat()
        assert stop["properties"]["duration_s"] == 19 * 60
        assert stop["geometry"]["coordinates"] == pytest.approx([ZZ_LON, ZZ_LAT])
        assert (
            kinds(trail(world, day2_noon, day2_noon + timedelta(hours=1), stop_min=30), "stop")
            == []
        )
        # 5. Three days thinned to 100 points, first and last kept; the stop still found.
        whole = trail(world, START, START + timedelta(days=3), max_points=100)
        assert whole["fixes"] == 3 * 24 * 60 + 2 and whole["thinned"]
        shown = kinds(whole, "fix")
        assert len(shown) == whole["shown"] <= 100
        assert shown[0]["properties"]["at"] == START.isoformat()
        assert len(kinds(whole, "stop")) == 1
        # 6. Before the track began and after it ended there is nothing.
        assert trail(world, START - timedelta(days=2), START - timedelta(days=1))["features"] == []
        late = datetime.now(UTC) + timedelta(hours=1)
        assert trail(world, late, late + timedelta(hours=1))["fixes"] == 0


def test_a_van_without_fixes_has_an_empty_trail_and_bad_requests_are_refused(
    store_url: str,
) -> None:
    with served(store_url) as world:
        now = datetime.now(UTC)
        body = trail(world, now - timedelta(hours=1), now)
        assert (body["fixes"], body["features"]) == (0, [])
        answer = world.get(
            "/api/vans/V404/track",
            "operator",
            params={"from": (now - timedelta(hours=1)).isoformat(), "to": now.isoformat()},
        )
        assert answer.status_code == 404
        for params, field in [
            ({"to": now.isoformat()}, "from"),
            ({"from": now.isoformat()}, "to"),
            ({"from": now.isoformat(), "to": (now - timedelta(hours=1)).isoformat()}, "to"),
            ({"from": (now - timedelta(days=8)).isoformat(), "to": now.isoformat()}, "to"),
            ({"from": "2026-01-01T00:00:00", "to": now.isoformat()}, "from"),
            (
                {
                    "from": (now - timedelta(hours=1)).isoformat(),
                    "to": now.isoformat(),
                    "max_points": 1,
                },
                "max_points",
            ),
        ]:
            answer = world.get("/api/vans/V1/track", "operator", params=params)
            assert answer.status_code == 422, (params, answer.text)
            assert any(d["loc"][-1] == field for d in answer.json()["detail"]), answer.json()
        assert (
            world.get("/api/vans/V1/track", "crew1", params={"from": now.isoformat()}).status_code
            == 403
        )
