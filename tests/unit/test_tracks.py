"""`VanTrack.report` builds its event by hand (the hot path): it must equal the library's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from eventsourcing.domain import OriginatorVersionError

from rescue.domain.tracks import VanTrack


def test_report_builds_the_event_trigger_event_would() -> None:
    fast, library = VanTrack(van_id="V-1"), VanTrack(van_id="V-1")
    at = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    fast.report(34.75, 113.62, at, 42.0, 90.0, 5.0)
    library.trigger_event(
        VanTrack.PositionReported,
        lat=34.75,
        lon=113.62,
        recorded_at=at,
        speed_kmh=42.0,
        heading=90.0,
        accuracy_m=5.0,
    )
    ours, theirs = fast.collect_events()[-1], library.collect_events()[-1]
    assert type(ours) is type(theirs)
    assert list(vars(ours)) == list(vars(theirs))  # same fields in the same order
    assert {k: v for k, v in vars(ours).items() if k != "timestamp"} == {
        k: v for k, v in vars(theirs).items() if k != "timestamp"
    }
    assert ours.timestamp.tzinfo is not None
    assert fast.version == library.version == 2
    assert fast.latest == library.latest
    assert fast.modified_on == ours.timestamp


def test_an_older_report_is_kept_but_does_not_move_the_van_back() -> None:
    track = VanTrack(van_id="V-1")
    at = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    track.report(34.0, 113.0, at)
    track.report(35.0, 114.0, at - timedelta(minutes=5))
    assert track.version == 3
    assert track.latest is not None and track.latest["lat"] == 34.0
    assert len(track.collect_events()) == 3


def test_a_stale_copy_cannot_report_over_a_newer_version() -> None:
    track = VanTrack(van_id="V-1")
    track.report(34.0, 113.0, datetime(2026, 11, 27, 8, 0, tzinfo=UTC))
    event = track.collect_events()[-1]
    with pytest.raises(OriginatorVersionError):
        event.mutate(track)  # version 2 again on a track already at 2
