"""The live board takes GPS fixes from the log without building event objects: every change it
streams and every document it keeps must be what the library's own decoding gives."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from eventsourcing.application import Application
from eventsourcing.persistence import Notification

from rescue.bootstrap import Rescue
from rescue.domain.tracks import VanTrack
from rescue.projections.changes import Doc
from rescue.projections.hub import frame
from rescue.projections.live import LiveView
from rescue.services.positions import PositionWriter
from rescue.store.codec import POSITION_TOPICS
from rescue.store.follower import LogFollower
from tests.builders import line_network, load, open_app
from tests.integration.test_position_rows import REPORTS
from tests.unit.test_codec import IN_MEMORY, STORES, TrackApp


class Board:
    """A live board and every change frame it handed to its listeners, in order."""

    def __init__(self) -> None:
        self.view = LiveView()
        self.frames: list[bytes] = []
        self.view.subscribe(self._record)

    def _record(self, position: int, changes: list[Doc]) -> None:
        self.frames.extend(frame(position, item) for item in changes)

    def documents(self) -> bytes:
        view = self.view
        # Keys sorted: merge order may differ, the content must not.
        return orjson.dumps(
            [view.position, view.stations, view.vans, view.incidents, sorted(view.van_ids.items())],
            option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS,
        )


def _log(app: Rescue) -> list[Notification]:
    return list(app.store.recorder.select_notifications(start=0, limit=10_000))


def _replayed(app: Application[Any], log: list[Notification], fast: bool) -> Board:
    """A fresh board fed the log by a follower, with or without its handler for GPS fixes."""
    board = Board()
    follower = LogFollower(app, board.view.apply, board.view.apply_fix if fast else None)
    for notification in log:
        follower.deliver(notification)
    return board


def test_the_fast_path_streams_what_the_library_decoding_streams(store_url: str) -> None:
    with open_app(store_url) as app:
        # 1. Vans on the board, and fixes stored by the position writer: UTC and local
        #    offsets, an offset with seconds (the library's encoder), microseconds, an
        #    older fix, a tracker app's extra fields; three vans' tracks interleaved.
        load(app, *line_network(3))
        writer = PositionWriter(app.runner)
        try:
            writer.submit("V1", REPORTS[:2])
            writer.submit("V2", REPORTS[:1])
            writer.submit("V1", REPORTS[2:])
            writer.submit("V3", REPORTS[4:])
        finally:
            writer.close()
        app.follower.catch_up()
        log = _log(app)
        assert sum(n.topic in POSITION_TOPICS for n in log) == 9

        # 2. Replayed both ways, the boards stream the same frames, byte for byte, and
        #    keep the same documents and the same fix times (datetimes, offsets kept).
        library, fast = _replayed(app.store, log, fast=False), _replayed(app.store, log, fast=True)
        assert len([f for f in library.frames if b'"PositionReported"' in f]) == 9
        assert fast.frames == library.frames
        assert fast.documents() == library.documents()
        assert fast.view._fix_at == library.view._fix_at
        for van_id, at in library.view._fix_at.items():
            assert fast.view._fix_at[van_id].utcoffset() == at.utcoffset()

        # 3. The process's own board, fed by its follower, stands where the library's does.
        live: Any = app.view
        assert live.position == library.view.position
        assert orjson.dumps(live.vans, option=orjson.OPT_SORT_KEYS) == orjson.dumps(
            library.view.vans, option=orjson.OPT_SORT_KEYS
        )
        assert live._fix_at == library.view._fix_at


def test_a_fix_for_a_track_the_board_does_not_know_changes_nothing(store_url: str) -> None:
    with open_app(store_url) as app:
        load(app, *line_network(1))
        writer = PositionWriter(app.runner)
        try:
            writer.submit("V1", REPORTS[:1])
        finally:
            writer.close()
        fix = next(n for n in _log(app) if n.topic in POSITION_TOPICS)
        board = Board()
        LogFollower(app.store, board.view.apply, board.view.apply_fix).deliver(fix)
        # Its position is reached, with no change streamed and no van on the board.
        assert board.view.position == fix.id
        assert board.frames == []
        assert board.view.vans == {}


@pytest.mark.parametrize("env", STORES)
def test_enciphered_fixes_are_deciphered_before_they_are_read(env: dict[str, str]) -> None:
    # 1. A track's events through the application's mapper, plain or enciphered and
    #    compressed; the encoder takes the library's path for the enciphered states.
    app = TrackApp(env=env)
    track = VanTrack(van_id="V-1")
    for report in REPORTS:
        track.report(
            report.lat,
            report.lon,
            report.recorded_at,
            report.speed_kmh,
            report.heading,
            report.accuracy_m,
        )
    app.save(track)
    log = list(app.recorder.select_notifications(start=0, limit=100))
    assert (b"recorded_at" in log[-1].state) is (env is IN_MEMORY)

    # 2. Both ways the board streams the same frames and keeps the same documents.
    library, ours = _replayed(app, log, fast=False), _replayed(app, log, fast=True)
    assert len(library.frames) == len(REPORTS)
    assert ours.frames == library.frames
    assert ours.documents() == library.documents()
    assert ours.view._fix_at == library.view._fix_at
