"""Stored states read through the one codec: plain or enciphered, any UTC offset, old topics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.application import Application
from eventsourcing.cipher import AESCipher
from eventsourcing.persistence import Mapper, StoredEvent

from rescue.domain.tracks import VanTrack
from rescue.projections.runner import rebuild
from rescue.projections.timetravel import board_as_of
from rescue.services.audit import readable
from rescue.store.codec import (
    POSITION_TOPICS,
    FastPositionMapper,
    plain_json,
    position_fix,
    state_document,
    untag,
)
from rescue.store.legacy_topics import legacy_topic

IN_MEMORY = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
ENCIPHERED = {
    **IN_MEMORY,
    "CIPHER_TOPIC": "eventsourcing.cipher:AESCipher",
    "CIPHER_KEY": AESCipher.create_key(16),
    "COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor",
}
STORES = [pytest.param(IN_MEMORY, id="plain"), pytest.param(ENCIPHERED, id="enciphered")]
RECORDED_AT = datetime(2025, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)


class TrackApp(Application[UUID]):
    """The application's mapper over the library's in-memory store, with the env's cipher."""

    def construct_mapper(self) -> Mapper[UUID]:
        library = super().construct_mapper()
        return FastPositionMapper(library.transcoder, library.compressor, library.cipher)


def moved_track(recorded_at: datetime = RECORDED_AT) -> VanTrack:
    track = VanTrack(van_id="V-1")
    track.report(52.52, 13.405, recorded_at, 42.5, 90.0, 4.0)
    return track


@pytest.mark.parametrize("env", STORES)
def test_a_fix_round_trips_through_the_library_mapper(env: dict[str, str]) -> None:
    # 1. The application's mapper stores the fix; with a cipher the bytes are not JSON.
    app = TrackApp(env=env)
    event: Any = moved_track().collect_events()[-1]
    stored = app.mapper.to_stored_event(event)
    assert (b"recorded_at" in stored.state) is (env is IN_MEMORY)
    # 2. The library's own mapper reads the very event back.
    assert app.mapper.to_domain_event(stored) == event
    # 3. The codec reads the same fields straight from the stored bytes.
    assert position_fix(app.mapper, stored.state) == (
        event.timestamp.isoformat(),
        52.52,
        13.405,
        RECORDED_AT.isoformat(),
        42.5,
        90.0,
        4.0,
    )
    # 4. The document as stored keeps the library's tags; untagged, the times are ISO text.
    document = state_document(stored.state, app.mapper)
    assert document["recorded_at"] == {"_type_": "datetime_iso", "_data_": RECORDED_AT.isoformat()}
    assert untag(document)["recorded_at"] == "2025-03-04T05:06:07.890000+00:00"
    # 5. The audit's readable view is the same whether or not the states are enciphered.
    view = readable(stored.topic, stored.state, app.mapper)
    assert view["type"] == "VanTrack.PositionReported"
    assert view["data"]["recorded_at"] == RECORDED_AT.isoformat()


def test_an_enciphered_state_is_not_read_as_plain_json() -> None:
    # 1. Without the mapper's cipher the bytes are refused, not misread.
    app = TrackApp(env=ENCIPHERED)
    stored = app.mapper.to_stored_event(moved_track().collect_events()[-1])
    with pytest.raises(ValueError):
        state_document(stored.state)
    # 2. Through the mapper they are the transcoder's JSON.
    assert plain_json(app.mapper, stored.state).startswith(b"{")


@pytest.mark.parametrize(
    "offset",
    [
        timedelta(0),
        timedelta(hours=8),
        timedelta(hours=-3, minutes=-30),
        # Written by the library's encoder (orjson would drop the seconds), read the same way.
        timedelta(hours=5, minutes=30, seconds=15),
    ],
)
def test_a_fix_keeps_the_offset_it_was_recorded_with(offset: timedelta) -> None:
    # 1. A fix recorded at a local time.
    app = TrackApp(env=IN_MEMORY)
    recorded_at = datetime(2025, 3, 4, 5, 6, 7, tzinfo=timezone(offset))
    stored = app.mapper.to_stored_event(moved_track(recorded_at).collect_events()[-1])
    # 2. The codec gives the time as written: the same instant and the same offset.
    written = position_fix(app.mapper, stored.state)[3]
    assert written == recorded_at.isoformat()
    assert datetime.fromisoformat(written).utcoffset() == offset
    # 3. Untagging any of the library's documents gives the same text.
    document = app.mapper.transcoder.encode({"at": recorded_at, "list": [recorded_at]})
    assert untag(state_document(document)) == {
        "at": recorded_at.isoformat(),
        "list": [recorded_at.isoformat()],
    }


def test_a_state_that_is_not_a_json_object_is_refused() -> None:
    for state in (b"[1, 2]", b"not json", b"\xff\xfe"):
        with pytest.raises(ValueError):
            state_document(state)


def as_written_before_the_move(stored: StoredEvent) -> StoredEvent:
    """The row the same event got when the aggregates lived in flat modules (rescue.tracks)."""
    old_topic = legacy_topic(stored.topic)
    assert old_topic is not None
    state = stored.state.replace(b'"rescue.domain.tracks:', b'"rescue.tracks:')
    return StoredEvent(stored.originator_id, stored.originator_version, old_topic, state)


def test_a_row_with_a_legacy_topic_is_read_by_the_current_code() -> None:
    # 1. A log written before the move: the track's rows name `rescue.tracks`.
    app = TrackApp(env=IN_MEMORY)
    track = moved_track()
    rows = [
        as_written_before_the_move(app.mapper.to_stored_event(e)) for e in track.collect_events()
    ]
    assert rows[-1].topic == "rescue.tracks:VanTrack.PositionReported"
    assert b"rescue.tracks:VanTrack" in rows[0].state
    app.recorder.insert_events(rows)
    # 2. The fix is told apart by its old topic and read by the codec and by the library.
    assert rows[-1].topic in POSITION_TOPICS
    assert position_fix(app.mapper, rows[-1].state)[1:3] == (52.52, 13.405)
    assert isinstance(app.mapper.to_domain_event(rows[-1]), VanTrack.PositionReported)
    # 3. The read models and the board of a past moment place the van.
    van = rebuild(app, None).docs["vans"]["V-1"]
    assert (van["lat"], van["lon"], van["position_at"]) == (52.52, 13.405, RECORDED_AT.isoformat())
    board: Any = board_as_of(app, datetime.now(UTC))  # type: ignore[arg-type]
    assert [(v["lat"], v["lon"]) for v in board["vans"]] == [(52.52, 13.405)]


@pytest.mark.parametrize("env", STORES)
def test_the_read_side_reads_fixes_through_the_cipher(env: dict[str, str]) -> None:
    # 1. A track's fixes stored by the application, enciphered or not.
    app = TrackApp(env=env)
    track = moved_track()
    track.report(52.6, 13.5, RECORDED_AT + timedelta(seconds=1))
    app.save(track)
    # 2. The read models hold the newest fix.
    van = rebuild(app, None).docs["vans"]["V-1"]
    assert (van["lat"], van["lon"]) == (52.6, 13.5)
    # 3. So does the board of a moment after both.
    board: Any = board_as_of(app, datetime.now(UTC))  # type: ignore[arg-type]
    assert [(v["lat"], v["lon"]) for v in board["vans"]] == [(52.6, 13.5)]
