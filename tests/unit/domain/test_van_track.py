"""`VanTrack` on its own: started empty, moved only by a newer fix, rebuilt from its reports.

How `report` builds its event by hand is checked against the library in tests/unit/test_tracks.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rescue.domain.ids import track_uuid, van_uuid
from rescue.domain.tracks import VanTrack
from tests.unit.domain.checks import fields, last_event, rebuilt, recorded

AT = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def test_a_track_follows_the_newest_fix_and_keeps_every_report() -> None:
    # 1. Started for van V-1, under its own id (not the van's), with no position yet.
    track = VanTrack(van_id="V-1")
    assert track.id == track_uuid("V-1") != van_uuid("V-1")
    assert fields(last_event(track)) == {"van_id": "V-1"}
    assert (track.latest, track.latest_at) == (None, None)

    # 2. The first fix places the van.
    track.report(34.75, 113.62, AT, speed_kmh=42.0, heading=90.0, accuracy_m=5.0)
    first = {
        "lat": 34.75,
        "lon": 113.62,
        "recorded_at": AT,
        "speed_kmh": 42.0,
        "heading": 90.0,
        "accuracy_m": 5.0,
    }
    # (A tablet's fix carries nothing from a tracker app's device.)
    assert fields(last_event(track)) == {**first, "device": None}
    assert (track.latest, track.latest_at) == (first, AT)

    # 3. A fix with the same time, then one from a tablet that was offline: both are kept,
    #    neither moves the van.
    track.report(34.80, 113.70, AT)
    track.report(34.70, 113.50, AT - timedelta(minutes=3))
    assert track.latest is not None and (track.latest["lat"], track.latest_at) == (34.75, AT)

    # 4. A newer fix moves it; unknown speed, heading and accuracy stay unknown.
    later = AT + timedelta(seconds=30)
    track.report(34.76, 113.63, later)
    assert track.latest == {
        "lat": 34.76,
        "lon": 113.63,
        "recorded_at": later,
        "speed_kmh": None,
        "heading": None,
        "accuracy_m": None,
    }

    # 5. Every report is an event, and replaying them puts the van at the newest fix again.
    assert recorded(track) == ["Started"] + ["PositionReported"] * 4
    assert rebuilt(track).latest_at == later


def test_take_fix_moves_a_track_as_applying_the_event_does() -> None:
    # 1. One track moved by its events, another only by take_fix (as the position writer does).
    by_events, by_fix = VanTrack(van_id="V-1"), VanTrack(van_id="V-1")
    fixes = [AT, AT - timedelta(minutes=1), AT + timedelta(minutes=1)]
    for n, at in enumerate(fixes):
        by_events.report(34.0 + n, 113.0, at, 10.0 * n, None, None)
        by_fix.take_fix(34.0 + n, 113.0, at, 10.0 * n, None, None)

    # 2. Both end at the same fix; take_fix records nothing.
    assert by_fix.latest == by_events.latest
    assert by_fix.latest is not None and by_fix.latest["lat"] == 36.0
    assert recorded(by_fix) == ["Started"]
