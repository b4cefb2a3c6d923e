"""The event store: the library's application, reduced to loading and saving aggregates.

Everything the product does goes through the services built over it
(rescue.services.runner and the services per context); this class only knows
how events are stored, snapshotted and read back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import Application, Repository
from eventsourcing.domain import Aggregate, OriginatorVersionError, Snapshot
from eventsourcing.persistence import Mapper, StoredEvent

from rescue.domain.access import Account
from rescue.domain.parts import VanStock
from rescue.domain.stations import Station
from rescue.domain.tracks import VanTrack
from rescue.domain.vans import Van
from rescue.store.codec import POSITION_TOPICS, FastPositionMapper, PositionFix, position_fix
from rescue.store.env import APPLICATION_NAME, store_env
from rescue.store.recorders import EventRow, RowRecorder, event_rows


def replay(aggregate: Any, events: Iterable[Any]) -> Any:
    """Applies each event to the aggregate in turn, as the library's `project_aggregate` does.

    Without its check of every event against a runtime-checkable protocol: on
    Python 3.11 that isinstance cost more than applying the event, about a
    tenth of the CPU of an authenticated van read. The events come from the
    store's own mapper, so each is one of the aggregates' event classes.
    """
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def take_stored_fix(track: VanTrack, version: int, fix: PositionFix) -> None:
    """Moves the track by a stored fix as mutating it with the fix's event would.

    The library's `mutate` for the track's `PositionReported`, without decoding
    the event: the version must be the track's next, the times are read as the
    library's decoder reads them (`fromisoformat`), and the event's timestamp
    becomes the track's `modified_on`.
    """
    expected = track.version + 1
    if version != expected:
        raise OriginatorVersionError(version, expected)
    timestamp, lat, lon, recorded_at, speed_kmh, heading, accuracy_m = fix
    track.take_fix(lat, lon, datetime.fromisoformat(recorded_at), speed_kmh, heading, accuracy_m)
    track.version = version
    track.modified_on = datetime.fromisoformat(timestamp)


class ReplayingRepository(Repository[UUID]):
    """The library's repository; an aggregate is rebuilt with `replay` unless told otherwise."""

    def get(self, aggregate_id: UUID, **options: Any) -> Any:
        options.setdefault("projector_func", replay)
        return super().get(aggregate_id, **options)


class RescueStore(Application[UUID]):
    name = APPLICATION_NAME
    mapper: FastPositionMapper  # built by construct_mapper
    snapshotting_intervals = {Van: 50, VanTrack: 200, Station: 50, Account: 50, VanStock: 50}  # noqa: RUF012

    def __init__(self, db: str) -> None:
        super().__init__(env=store_env(db))

    def construct_mapper(self) -> Mapper[UUID]:
        return FastPositionMapper(transcoder=self.construct_transcoder())

    def construct_repository(self) -> Repository[UUID]:
        # The library's repository with every setting it read from the environment,
        # re-typed so that it rebuilds aggregates with `replay`.
        repository = super().construct_repository()
        repository.__class__ = ReplayingRepository
        return repository

    def exists(self, aggregate_id: UUID) -> bool:
        return bool(self.recorder.select_events(aggregate_id, limit=1))

    def append(
        self,
        aggregates: Sequence[Aggregate],
        rows: Sequence[EventRow] = (),
        advanced: Sequence[tuple[Aggregate, int]] = (),
    ) -> None:
        """Saves many aggregates at once, for the position writer's large batches.

        `save()` checks each object against runtime protocols, which costs more
        than writing its event when a batch holds a thousand tracks; here every
        object is known to be an aggregate. `rows` are events already encoded
        (GPS reports, rescue.services.positions), stored first in the same transaction;
        `advanced` names the aggregates they moved, with each one's version
        before them, so snapshots fall due as if the events had been collected.
        """
        events: list[Any] = []
        due: list[Aggregate] = []
        for aggregate in aggregates:
            pending = aggregate.collect_events()
            events.extend(pending)
            if self._snapshot_due(aggregate, aggregate.version - len(pending)):
                due.append(aggregate)
        for aggregate, before in advanced:
            if self._snapshot_due(aggregate, before):
                due.append(aggregate)
        # The event store's put() also builds a notification object per event
        # for subscribers; nothing here subscribes in-process (views pull), so
        # the rows go straight to the recorder.
        to_stored = self.mapper.to_stored_event
        recorder: RowRecorder = self.recorder  # type: ignore[assignment]
        recorder.insert_rows([*rows, *event_rows(to_stored(e) for e in events)])
        self._snapshot(due)

    def catch_up(self, aggregates: Sequence[Aggregate]) -> int:
        """Applies to aggregates held in memory the events stored after their versions.

        For a process that keeps aggregates between writes while other processes
        append to them too (the position writer's tracks): one read for all of
        them, and each stale one moves by the events it missed, as loading it again
        would leave it, instead of being loaded from its snapshot and events.
        Returns how many events were applied.
        """
        if not aggregates:
            return 0
        by_id = {aggregate.id: aggregate for aggregate in aggregates}
        stored = self.events_after([(a.id, a.version) for a in aggregates])
        to_domain = self.mapper.to_domain_event
        for originator_id, events in stored.items():
            aggregate = by_id[originator_id]
            for stored_event in events:
                # GPS fixes, most of what a writer misses, are read straight from their JSON.
                if stored_event.topic in POSITION_TOPICS and isinstance(aggregate, VanTrack):
                    fix = position_fix(self.mapper, stored_event.state)
                    take_stored_fix(aggregate, stored_event.originator_version, fix)
                else:
                    event: Any = to_domain(stored_event)
                    # mutate() refuses an event that is not the aggregate's next version.
                    event.mutate(aggregate)
        return sum(len(events) for events in stored.values())

    def events_after(self, versions: Sequence[tuple[UUID, int]]) -> dict[UUID, list[StoredEvent]]:
        """The stored events of each originator after its given version, in one read.

        By originator, each one's in version order; an originator with none is left out.
        """
        recorder: RowRecorder = self.recorder  # type: ignore[assignment]
        found: dict[UUID, list[StoredEvent]] = {}
        for stored_event in recorder.select_after(versions):
            originator_id = stored_event.originator_id
            if not isinstance(originator_id, UUID):
                originator_id = UUID(originator_id)
            found.setdefault(originator_id, []).append(stored_event)
        return found

    def apply(self, aggregate: Any, stored_events: Iterable[StoredEvent]) -> Any:
        """The aggregate (None: not created yet) moved by these stored events, in order.

        Raises OriginatorVersionError when an event is not the aggregate's next.
        """
        to_domain = self.mapper.to_domain_event
        return replay(aggregate, (to_domain(stored_event) for stored_event in stored_events))

    def _snapshot_due(self, aggregate: Aggregate, version_before: int) -> bool:
        """Whether the aggregate crossed a multiple of its snapshotting interval since then."""
        interval = self.snapshotting_intervals.get(type(aggregate))
        if not interval:
            return False
        return aggregate.version // interval > version_before // interval

    def _snapshot(self, aggregates: Sequence[Aggregate]) -> None:
        """Snapshots of aggregates whose events were all just stored, in one write.

        The library's `take_snapshot` reloads each aggregate from its events
        first (200 for a track) and writes one transaction per snapshot; these
        objects already hold exactly the recorded state, so they are taken as
        they are. A crossed interval inside a batch snapshots the latest
        version, which loading accepts as well as the exact multiple.
        """
        if not aggregates or self.snapshots is None:
            return
        snapshots = []
        for aggregate in aggregates:
            snapshot_class: Any = getattr(type(aggregate), "Snapshot", Snapshot)
            snapshots.append(snapshot_class.take(aggregate))
        self.snapshots.put(snapshots)
