"""The position writer snapshots tracks from memory as it crosses each interval: the snapshots
are exactly the recorded state, and a track loads from them to the same state as from its
events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rescue.bootstrap import Rescue
from rescue.domain.ids import track_uuid
from rescue.domain.tracks import VanTrack
from rescue.services.positions import PositionReport, PositionWriter
from tests.builders import line_network, load, open_app

INTERVAL = 200  # RescueStore.snapshotting_intervals[VanTrack]


def test_batches_crossing_the_interval_leave_snapshots_that_load_like_the_events(
    store_url: str,
) -> None:
    start = datetime.now(UTC) - timedelta(hours=3)
    with open_app(store_url) as app:
        assert app.store.snapshotting_intervals[VanTrack] == INTERVAL
        load(app, *line_network(2))
        writer = PositionWriter(app.runner)
        try:
            # V1 in batches of 7, so intervals are crossed in the middle of a batch.
            sent = 0
            while sent < 2 * INTERVAL + 30:
                at = start + timedelta(seconds=sent)
                reports = [
                    PositionReport(34.0 + (sent + k) * 1e-5, 113.0, at + timedelta(seconds=k))
                    for k in range(7)
                ]
                writer.submit("V1", reports)
                sent += 7
            # V2 one report at a time: the snapshot falls exactly on the interval.
            for k in range(INTERVAL):
                writer.submit("V2", [PositionReport(35.0, 113.0, start + timedelta(seconds=k))])
        finally:
            writer.close()
        assert app.store.snapshots is not None
        snapshots = list(app.store.snapshots.get(track_uuid("V1")))
        # Started is version 1; the track ends at version 1 + sent.
        versions = [s.originator_version for s in snapshots]
        assert len(versions) == (1 + sent) // INTERVAL == 2
        for version, crossed in zip(versions, (INTERVAL, 2 * INTERVAL), strict=True):
            assert crossed <= version < crossed + 7
        # Each snapshot equals the state replayed from the events up to its version.
        for snapshot in snapshots:
            replayed = _replayed(app, "V1", snapshot.originator_version)
            assert snapshot.state["latest"] == replayed.latest
            assert snapshot.state["latest_at"] == replayed.latest_at
        # Loading (from the newest snapshot plus the events after it) gives the replayed state.
        loaded = app.store.repository.get(track_uuid("V1"))
        full = _replayed(app, "V1", None)
        assert loaded.version == full.version == 1 + sent
        assert loaded.latest == full.latest
        assert [s.originator_version for s in app.store.snapshots.get(track_uuid("V2"))] == [200]


def _replayed(app: Rescue, van_id: str, version: int | None) -> VanTrack:
    """The track rebuilt from its events alone, ignoring snapshots."""
    events = app.store.events.get(track_uuid(van_id), lte=version)
    track: VanTrack | None = None
    for event in events:
        track = event.mutate(track)
    assert track is not None
    return track
