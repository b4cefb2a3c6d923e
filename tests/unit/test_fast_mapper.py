"""The position fast path writes documents the library's own decoder reads back exactly."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import orjson
from eventsourcing.application import Application
from hypothesis import given, settings
from hypothesis import strategies as st

from rescue.domain.tracks import VanTrack
from rescue.store.codec import FastPositionMapper

maybe_float = st.none() | st.floats(min_value=0, max_value=400, allow_nan=False)
moments = st.datetimes(
    min_value=datetime(2020, 1, 1),
    max_value=datetime(2030, 1, 1),
    timezones=st.sampled_from(
        [
            UTC,
            timezone(timedelta(hours=8)),
            timezone(timedelta(hours=-3, minutes=-30)),
            # orjson would drop these seconds (moving the instant): the library's encoder.
            timezone(timedelta(hours=5, minutes=30, seconds=15)),
        ]
    ),
)


@given(
    lat=st.floats(-90, 90, allow_nan=False),
    lon=st.floats(-180, 180, allow_nan=False),
    recorded_at=moments,
    speed=maybe_float,
    heading=maybe_float,
    accuracy=maybe_float,
)
@settings(max_examples=200, deadline=None)
def test_fast_path_round_trips_through_the_library_decoder(
    lat: float,
    lon: float,
    recorded_at: datetime,
    speed: float | None,
    heading: float | None,
    accuracy: float | None,
) -> None:
    # 1. A library mapper and the fast one share the library's transcoder.
    library = Application[object](env={"PERSISTENCE_MODULE": "eventsourcing.popo"}).mapper
    fast = FastPositionMapper(transcoder=library.transcoder)
    track = VanTrack(van_id="V-1")
    track.report(lat, lon, recorded_at, speed, heading, accuracy)
    event = track.collect_events()[-1]
    # 2. Both stored forms decode, with the library's decoder, to the same event.
    ours, theirs = fast.to_stored_event(event), library.to_stored_event(event)
    assert ours.topic == theirs.topic
    assert library.to_domain_event(ours) == library.to_domain_event(theirs) == event
    # 3. The recorded offset survives, not only the instant. (The bytes may differ: orjson
    #    writes 1e-05 as 0.00001; the chain hashes whatever bytes were stored.)
    decoded = library.to_domain_event(ours)
    assert isinstance(decoded, VanTrack.PositionReported)
    assert decoded.recorded_at.utcoffset() == recorded_at.utcoffset()
    assert decoded.recorded_at == recorded_at


def test_a_fix_stored_before_the_device_field_reads_without_one() -> None:
    library = Application[object](env={"PERSISTENCE_MODULE": "eventsourcing.popo"}).mapper
    track = VanTrack(van_id="V-1")
    track.report(34.7, 113.6, datetime(2026, 1, 5, tzinfo=UTC))
    stored = FastPositionMapper(transcoder=library.transcoder).to_stored_event(
        track.collect_events()[-1]
    )
    # The document as written before tracker apps' fixes carried their device's data.
    document = orjson.loads(stored.state)
    del document["device"]
    older = dataclasses.replace(stored, state=orjson.dumps(document))
    event = library.to_domain_event(older)
    assert isinstance(event, VanTrack.PositionReported)
    assert (event.lat, event.device) == (34.7, None)


def test_other_events_take_the_library_path() -> None:
    library = Application[object](env={"PERSISTENCE_MODULE": "eventsourcing.popo"}).mapper
    fast = FastPositionMapper(transcoder=library.transcoder)
    started = VanTrack(van_id="V-1").collect_events()[0]
    assert fast.to_stored_event(started).state == library.to_stored_event(started).state
