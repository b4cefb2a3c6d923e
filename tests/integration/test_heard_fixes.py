"""A server process's writer learns what the other processes stored on its tracks from the log
follower (which reads every fix for the board anyway), not from a read of its own: its tracks
must end where a replay of the stored events puts them, and a track the follower has not
brought up to date must still be stored without a gap or a twin."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from rescue.bootstrap import Rescue
from rescue.domain.ids import track_uuid
from rescue.domain.tracks import VanTrack
from rescue.services.positions import PositionReport, PositionWriter
from rescue.store.codec import PositionFix
from tests.builders import line_network, load, open_app, replayed_track

START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def _report(second: int) -> PositionReport:
    return PositionReport(34.7 + second / 1000, 113.6, START + timedelta(seconds=second), 40.0)


def _state(track: VanTrack) -> tuple[Any, ...]:
    return (track.version, track.latest, track.latest_at, track.modified_on)


def _write_once(app: Rescue, van_id: str, report: PositionReport) -> None:
    """Stores one report through a writer of its own; returns once the follower applied it."""
    writer = PositionWriter(app.runner)
    try:
        writer.submit(van_id, [report])
    finally:
        writer.close()
    app.follower.catch_up()


@contextmanager
def _two_writers(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Rescue, PositionWriter, PositionWriter, list[int]]]:
    """Two writers on one followed store, as two server processes have; the list counts the
    tracks the store was asked to catch up."""
    with open_app(store_url) as app:
        load(app, *line_network(2))
        read_back: list[int] = []
        catch_up = app.store.catch_up

        def counted(aggregates: Any) -> int:
            read_back.append(len(aggregates))
            return catch_up(aggregates)

        monkeypatch.setattr(app.store, "catch_up", counted)
        first, second = PositionWriter(app.runner), PositionWriter(app.runner)
        try:
            yield app, first, second, read_back
        finally:
            first.close()
            second.close()


def test_a_writer_moves_its_tracks_by_the_fixes_the_follower_heard(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _two_writers(store_url, monkeypatch) as (app, first, second, read_back):
        first.submit("V1", [_report(0)])
        second.submit("V1", [_report(10), _report(5)])  # the second is older: the van stays
        second.submit("V1", [_report(20)])
        app.follower.catch_up()
        first.submit("V2", [_report(1)])  # a batch without V1 moves V1 all the same
        assert _state(first._tracks["V1"]) == _state(replayed_track(app, "V1"))

        first.submit("V1", [_report(30)])
        assert _state(first._tracks["V1"]) == _state(replayed_track(app, "V1"))
        app.follower.catch_up()
        second.submit("V1", [_report(40)])
        assert _state(second._tracks["V1"]) == _state(replayed_track(app, "V1"))
        stored = list(app.store.events.get(track_uuid("V1"), gt=1))
        assert [e.originator_version for e in stored] == [2, 3, 4, 5, 6, 7]
        assert [e.recorded_at for e in stored] == [
            START + timedelta(seconds=s) for s in (0, 10, 5, 20, 30, 40)
        ]
        assert read_back == []  # every track was moved by what the follower heard


def test_a_track_the_follower_has_not_moved_yet_collides_and_is_written_again(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _two_writers(store_url, monkeypatch) as (app, first, second, read_back):
        first.submit("V1", [_report(0)])
        cached = first._tracks["V1"]
        app.follower.unlisten(first._hear)  # hears nothing more: as if its follower were behind
        second.submit("V1", [_report(10), _report(20)])
        app.follower.catch_up()

        assert first.submit("V1", [_report(30)]).body == {"accepted": 1}
        # It collided, and the batch was written again on the track read again from the store.
        assert len(read_back) == 1
        assert first._tracks["V1"] is not cached
        assert _state(first._tracks["V1"]) == _state(replayed_track(app, "V1"))
        versions = [e.originator_version for e in app.store.events.get(track_uuid("V1"), gt=1)]
        assert versions == [2, 3, 4, 5]


def test_a_track_that_missed_an_event_or_heard_another_kind_is_caught_up_from_the_store(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _two_writers(store_url, monkeypatch) as (app, first, second, read_back):
        for van_id in ("V1", "V2"):
            first.submit(van_id, [_report(0)])
        before = dict(first._tracks)
        second.submit("V1", [_report(10), _report(20)])
        second.submit("V2", [_report(10)])
        app.follower.catch_up()  # the follower is idle now, and the first writer waits for work
        v1, v2 = track_uuid("V1"), track_uuid("V2")
        heard = list(first._heard)
        first._heard.clear()
        # V1 missed its first fix from the other writer (too many were heard at once) ...
        first._heard.extend(item for item in heard if item[0] == v1 and item[1] != 3)
        # ... and V2's fix came as an event of another kind.
        first._heard.extend((v, n, None) for v, n, _ in heard if v == v2)
        first.submit("V1", [_report(30)])
        first.submit("V2", [_report(30)])

        assert read_back == [1, 1]  # each caught up from the store, in its batch's one read
        for van_id in ("V1", "V2"):
            assert first._tracks[van_id] is before[van_id]
            assert _state(first._tracks[van_id]) == _state(replayed_track(app, van_id))
        first.submit("V1", [_report(40)])
        assert read_back == [1, 1]  # up to date again: what is heard is enough


def test_the_follower_tells_its_listeners_of_every_event_with_a_fixs_fields(
    store_url: str,
) -> None:
    with open_app(store_url) as app:
        heard: list[tuple[UUID, int, PositionFix | None]] = []

        def listener(originator_id: UUID, version: int, fix: PositionFix | None) -> None:
            heard.append((originator_id, version, fix))

        app.follower.listen(listener)
        load(app, *line_network(1))
        _write_once(app, "V1", _report(7))
        app.follower.unlisten(listener)
        _write_once(app, "V1", _report(8))

    track_id = track_uuid("V1")
    on_track = [(version, fix) for originator, version, fix in heard if originator == track_id]
    assert [version for version, _ in on_track] == [1, 2]  # created, then the one fix heard
    assert on_track[0][1] is None
    fix = on_track[1][1]
    assert fix is not None
    assert fix[1:4] == (34.707, 113.6, (START + timedelta(seconds=7)).isoformat())
    assert any(originator != track_id and fix is None for originator, _, fix in heard)
