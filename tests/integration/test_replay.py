"""The store rebuilds aggregates with its own `replay`, not the library's projector: the same
aggregate, event for event, for every aggregate of a busy day."""

from __future__ import annotations

from typing import Any

from eventsourcing.application import project_aggregate

from rescue.services.store import ReplayingRepository
from tests.builders import open_app
from tests.integration.test_projections import busy_day


def _state(aggregate: Any) -> dict[str, Any]:
    return dict(vars(aggregate))


def test_every_aggregate_replays_as_the_librarys_projector_would(store_url: str) -> None:
    with open_app(store_url) as app:
        busy_day(app, calls=8, seed=3)
        repository = app.store.repository
        assert isinstance(repository, ReplayingRepository)
        logged = app.store.recorder.select_notifications(start=1, limit=10**6)
        ids = {notification.originator_id for notification in logged}
        assert len(ids) > 20
        for aggregate_id in ids:
            ours = repository.get(aggregate_id)
            assert ours is not None
            library = repository.get(aggregate_id, projector_func=project_aggregate)
            assert _state(ours) == _state(library), aggregate_id
            # At an earlier version too (an auditor's view of the past).
            if library.version > 1:
                earlier = repository.get(aggregate_id, version=library.version - 1)
                assert _state(earlier) == _state(
                    repository.get(
                        aggregate_id, version=library.version - 1, projector_func=project_aggregate
                    )
                )
