"""The position writer stores reports without building event objects: what it stores must be
what the library's own path (trigger the event, map it, save it) would have stored, and its
tracks must be in the state a replay of those events gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import OriginatorVersionError
from eventsourcing.persistence import Mapper

from rescue.bootstrap import Rescue
from rescue.domain.ids import track_uuid
from rescue.domain.tracks import VanTrack
from rescue.services.positions import PositionReport, PositionWriter
from rescue.services.store import take_stored_fix
from rescue.store.codec import FastPositionMapper
from rescue.store.recorders import RowRecorder, event_rows
from tests.builders import line_network, load, open_app, replayed_track

START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
BEIJING = timezone(timedelta(hours=8))
# orjson refuses an offset with seconds: that report takes the library's encoder (whose decoder
# drops the offset's seconds; the same with or without the writer's rows).
ODD_OFFSET = timezone(timedelta(hours=5, minutes=30, seconds=15))

REPORTS = [
    PositionReport(34.70, 113.60, START, 42.5, 90.0, 5.0),
    PositionReport(34.71, 113.61, (START + timedelta(seconds=10)).astimezone(BEIJING)),
    # Older than the one before: recorded, but the van stays where it was.
    PositionReport(34.60, 113.50, START + timedelta(seconds=5), None, 271.5, None),
    PositionReport(34.72, 113.62, (START + timedelta(seconds=20)).astimezone(ODD_OFFSET), 0.0),
    PositionReport(-0.00001, 1e-5, START + timedelta(seconds=30, microseconds=7)),
    # A tracker app's fix, with what the app sent besides (text that is not ASCII too).
    PositionReport(
        34.73,
        113.63,
        START + timedelta(seconds=40),
        device={"battery_pct": 87.0, "charging": True, "altitude_m": 224.0, "event": "移动"},
    ),
]


def test_stored_reports_are_the_events_the_library_would_store(store_url: str) -> None:
    with open_app(store_url) as app:
        load(app, *line_network(2))
        writer = PositionWriter(app.runner)
        try:
            writer.submit("V1", REPORTS[:2])
            writer.submit("V2", REPORTS[:1])
            writer.submit("V1", REPORTS[2:])
            cached = writer._tracks["V1"]
        finally:
            writer.close()

        stored = list(app.store.events.get(track_uuid("V1"), gt=1))
        assert [e.originator_version for e in stored] == [2, 3, 4, 5, 6, 7]
        library = Application[object](env={"PERSISTENCE_MODULE": "eventsourcing.popo"}).mapper
        ours = FastPositionMapper(transcoder=library.transcoder)
        reference = VanTrack(van_id="V1")
        for event, report in zip(stored, REPORTS, strict=True):
            assert isinstance(event, VanTrack.PositionReported)
            assert event.timestamp.tzinfo is not None
            # The library's path, with the same timestamp, stores a document that decodes to
            # the same event.
            reference.trigger_event(
                VanTrack.PositionReported,
                timestamp=event.timestamp,
                lat=report.lat,
                lon=report.lon,
                recorded_at=report.recorded_at,
                speed_kmh=report.speed_kmh,
                heading=report.heading,
                accuracy_m=report.accuracy_m,
                device=report.device,
            )
            expected = reference.collect_events()[-1]
            assert library.to_domain_event(library.to_stored_event(expected)) == event
            if report.recorded_at.tzinfo is ODD_OFFSET:
                continue
            # Where orjson writes the document, the bytes are the event path's, and the
            # report comes back exactly, its offset kept and not only the instant.
            assert _state(app, "V1", event.originator_version) == (
                ours.to_stored_event(expected).state
            )
            assert event == expected
            assert event.recorded_at.utcoffset() == report.recorded_at.utcoffset()

        # The writer's track is where a replay of its events puts it.
        replayed = replayed_track(app, "V1")
        assert cached.version == replayed.version == 7
        assert cached.latest == replayed.latest
        assert cached.latest_at == replayed.latest_at == REPORTS[5].recorded_at
        assert cached.modified_on == replayed.modified_on


def test_an_older_report_does_not_move_the_van_back(store_url: str) -> None:
    with open_app(store_url) as app:
        load(app, *line_network(1))
        writer = PositionWriter(app.runner)
        try:
            writer.submit("V1", REPORTS[1:3])
        finally:
            writer.close()
        track = app.store.repository.get(track_uuid("V1"))
        assert track.version == 3
        assert track.latest is not None
        assert (track.latest["lat"], track.latest["lon"]) == (34.71, 113.61)


def _state(app: Rescue, van_id: str, version: int) -> bytes:
    """The stored bytes of one event, as the recorder holds them."""
    records = app.store.recorder.select_events(track_uuid(van_id), gt=version - 1, lte=version)
    (record,) = records
    return bytes(record.state)


def test_two_writers_on_the_same_vans_store_every_fix_once(store_url: str) -> None:
    """Two writers, as two server processes have, take turns on the same vans: each one's
    cached tracks fall behind the other's writes and must catch up, not collide or skip."""
    with open_app(store_url) as app:
        load(app, *line_network(2))
        writers = [PositionWriter(app.runner), PositionWriter(app.runner)]
        sent: dict[str, list[PositionReport]] = {"V1": [], "V2": []}
        try:
            first: VanTrack | None = None
            for turn in range(6):
                writer = writers[turn % 2]
                # The other writer's last turn heard, which has no deadline: unheard, the
                # batch collides and reads its tracks again (test_heard_fixes.py's case).
                app.follower.catch_up()
                if turn == 2:
                    first = writer._tracks["V1"]
                for van_id in sent:
                    at = START + timedelta(seconds=turn)
                    reports = [PositionReport(34.7 + turn / 100, 113.6, at)]
                    if turn == 3:
                        reports.append(REPORTS[2])  # two fixes in one request, the second older
                    assert writer.submit(van_id, reports).body == {"accepted": len(reports)}
                    sent[van_id] += reports
            cached = [writer._tracks["V1"] for writer in writers]
        finally:
            for writer in writers:
                writer.close()

        for van_id, reports in sent.items():
            stored = list(app.store.events.get(track_uuid(van_id), gt=1))
            assert [e.originator_version for e in stored] == list(range(2, 2 + len(reports)))
            assert [(e.lat, e.recorded_at) for e in stored] == [
                (r.lat, r.recorded_at) for r in reports
            ]
        replayed = replayed_track(app, "V1")
        assert replayed.latest_at == START + timedelta(seconds=5)
        # The writer that wrote last holds the stored state; the other catches up on its next batch.
        last = cached[1]
        assert (last.version, last.latest, last.modified_on) == (
            replayed.version,
            replayed.latest,
            replayed.modified_on,
        )
        assert cached[0].version < replayed.version
        # Caught up where it was, not read again from the store.
        assert cached[0] is first


def test_a_track_catches_up_as_a_replay_of_the_events_it_missed(store_url: str) -> None:
    """The writer's catch-up reads missed fixes straight from their JSON: the track must end
    where the library's own decoding and `mutate` put it, whichever encoder wrote the rows."""
    with open_app(store_url) as app:
        load(app, *line_network(1))
        behind = app.store.repository.get(track_uuid("V1"))
        writer = PositionWriter(app.runner)
        try:
            writer.submit("V1", REPORTS[:3])  # rows the writer encodes itself
        finally:
            writer.close()
        # Rows of the library's own path: event objects, encoded by the library's mapper
        # with the store's transcoder, compressor and cipher.
        ahead = app.store.repository.get(track_uuid("V1"))
        for r in REPORTS[3:]:
            ahead.report(r.lat, r.lon, r.recorded_at, r.speed_kmh, r.heading, r.accuracy_m)
        store_mapper = app.store.mapper
        library = Mapper[UUID](
            transcoder=store_mapper.transcoder,
            compressor=store_mapper.compressor,
            cipher=store_mapper.cipher,
        )
        recorder: RowRecorder = app.store.recorder  # type: ignore[assignment]
        recorder.insert_rows(event_rows(library.to_stored_event(e) for e in ahead.collect_events()))

        assert app.store.catch_up([behind]) == len(REPORTS)
        replayed = replayed_track(app, "V1")
        assert (behind.version, behind.latest, behind.latest_at, behind.modified_on) == (
            replayed.version,
            replayed.latest,
            replayed.latest_at,
            replayed.modified_on,
        )
        assert behind.latest_at == REPORTS[5].recorded_at
        assert behind.latest is not None
        assert behind.latest["recorded_at"].utcoffset() == REPORTS[5].recorded_at.utcoffset()
        assert app.store.catch_up([behind]) == 0


def test_a_fix_that_is_not_the_tracks_next_version_is_refused() -> None:
    track = VanTrack(van_id="V1")
    fix = ("2026-01-01T08:00:00+00:00", 34.7, 113.6, "2026-01-01T07:59:58+00:00", None, None, None)
    with pytest.raises(OriginatorVersionError):
        take_stored_fix(track, track.version + 2, fix)
    assert track.latest is None
    take_stored_fix(track, track.version + 1, fix)
    assert track.version == 2
    assert track.latest_at == datetime(2026, 1, 1, 7, 59, 58, tzinfo=UTC)
    assert track.modified_on == datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
